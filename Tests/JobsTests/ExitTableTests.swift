import Foundation
import GRDB
import Testing

@testable import Jobs

/// The one table from errors to exit codes and advice.
@Suite struct ExitTableTests {
    @Test func eachDomainErrorHasItsExitCode() {
        let table: [(any Error, Int32)] = [
            (ManifestError("Manifest m.csv is empty"), 65),
            (JobFileError("job.yml: `kind` is missing"), 78),
            (FileSystemError(path: "/out/results.csv", "Cannot write /out/results.csv"), 74),
            (StoreError.locked(state: "/out/state.sqlite"), 75),
            (StoreError.cannotOpen(state: "/out/state.sqlite"), 74),
            (StoreError.cannotRead(state: "/out/state.sqlite"), 74),
            (StoreError.unsupportedLocation(scheme: "postgresql"), 78),
            (ServiceError.quotaExhausted(resetIn: .seconds(90)), 75),
            (ServiceError.failing, 75),
            (ServiceError.credentialsRefused(answer: "HTTP 401"), 69),
            (ServiceError.tokenRefused(answer: "HTTP 401"), 69),
            (ServiceError.tokenRequestRejected(answer: "HTTP 400"), 69),
            (ServiceError.tokenAnswerTooLarge, 69),
            (ServiceError.tokenAnswerWithoutToken, 69),
            (ServiceError.tokenEndpointFailing(problem: "HTTP 503"), 75),
            (ServiceError.connection(.untrustedCertificate(host: "api-prd.kpn.com", reason: "expired")), 69),
            (ServiceError.connection(.proxyRefused(proxy: "http://u:***@proxy:3128", answer: "answered 407")), 69),
            (ServiceError.connection(.unreachable(host: "api-prd.kpn.com", cause: "connection refused")), 69),
            (CancellationError(), 75),
            (DatabaseError(resultCode: .SQLITE_FULL), 74),
        ]
        for (error, code) in table {
            let ending = ExitTable.jobError(for: error)
            #expect(ending.code.exitCode == code, "\(error)")
            #expect(!ending.message.isEmpty)
        }
    }

    @Test func messagesSayWhatToDo() {
        let message = ExitTable.jobError(for: ServiceError.quotaExhausted(resetIn: .seconds(3_601.2))).message
        #expect(message.contains("resets at ") && message.contains("Z, in 1h00m02s, beyond quota.max_wait"), "\(message)")
        let now = Date(timeIntervalSince1970: 1_796_000_000)  // 2026-11-30 00:53:20 UTC
        #expect(ResetText.describe(in: 41.3, from: now) == "at 00:54:02Z, in 42s")
        #expect(ResetText.describe(in: 90_000, from: now) == "at 2026-12-01 01:53:20Z, in 25h00m00s")
        #expect(ExitTable.jobError(for: StoreError.locked(state: "/s.sqlite")).message.contains("Another batch-runner run is using the state /s.sqlite"))
        #expect(ExitTable.jobError(for: ManifestError("Manifest m.csv is empty.")).message == "Manifest m.csv is empty.")
    }

    @Test func anErrorNoLayerDescribedIsNamedByWhatTheCommandWasDoing() {
        struct Odd: Error {}
        #expect(ExitTable.jobError(for: Odd(), during: .start).message.hasPrefix("Unexpected error before the run started"))
        #expect(ExitTable.jobError(for: Odd(), during: .run).code == .internalError)
        #expect(ExitTable.jobError(for: Odd(), during: .outputs(folder: "/out")).message.hasPrefix("Cannot write the outputs to /out"))
        #expect(ExitTable.jobError(for: Odd(), during: .validation).code == .ioError)
    }
}
