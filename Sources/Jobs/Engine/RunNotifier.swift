import Foundation
import Logging
import NIOHTTP1

/// `notify`: summary.json, byte for byte, POSTed to `notify.url` at the end of every run whatever its exit, with
/// the one header `notify.headers_env` names (a bearer token, a webhook secret). Each try has 10 s; three tries,
/// 1 s and 3 s apart; never more than 30 s in all, and never a change to the exit code: a failure is logged.
struct RunNotifier {
    let notify: JobConfiguration.Notify
    let environment: RunEnvironment
    let logger: Logger
    /// Where `headers_env` is read.
    var variables: [String: String] = ProcessInfo.processInfo.environment

    static let tryTimeout = Duration.seconds(10)
    static let totalTimeout = Duration.seconds(30)
    static let pauses: [Duration] = [.seconds(1), .seconds(3)]

    /// Sends `summary`; answers whether the receiver took it (a 2xx).
    @discardableResult
    func send(_ summary: Data) async -> Bool {
        var headers = [("Content-Type", "application/json")]
        if let variable = notify.headerVariable {
            guard let header = Self.header(variables[variable]) else {
                logger.warning("notify: the variable \(variable) is not set or not `Name: value`; the summary was not sent")
                return false
            }
            headers.append(header)
        }
        let request = APIRequest(method: .POST, url: notify.url, headers: headers, body: Array(summary), label: "POST notify.url")
        var configuration = JobConfiguration(kind: .numberVerify, jobFile: "", manifest: "", output: "")
        (configuration.concurrency, configuration.http.timeout) = (1, Self.tryTimeout)
        let transport = environment.makeTransport(configuration)
        let clock = environment.clock
        let delivered = await withTaskGroup(of: Bool?.self) { group in
            group.addTask { await tries(request, transport: transport, clock: clock) }
            group.addTask {
                try? await clock.sleep(until: clock.now.advanced(by: Self.totalTimeout))
                return nil
            }
            defer { group.cancelAll() }
            return await group.next() ?? nil
        }
        try? await transport.shutdown()
        switch delivered {
        case true?: logger.info("notify: the summary was delivered")
        case false?: break
        case nil: logger.warning("notify: the receiver did not take the summary within 30 s; the run's exit code stands")
        }
        return delivered == true
    }

    private func tries(_ request: APIRequest, transport: any HTTPTransport, clock: EngineClock) async -> Bool {
        var problem = ""
        for attempt in 0...Self.pauses.count {
            if attempt > 0 {
                do { try await clock.sleep(until: clock.now.advanced(by: Self.pauses[attempt - 1])) } catch { return false }
            }
            switch await transport.execute(request, token: nil) {
            case .answer(let status, _, _) where (200..<300).contains(status):
                return true
            case .answer(let status, _, _):
                problem = "HTTP \(status)"
            case .connectionFailed(let failure):
                problem = failure.message
            case .noAnswer(let reason, _):
                problem = reason
            case .tooLarge:
                return true
            }
        }
        logger.warning("notify: the receiver did not take the summary after \(Self.pauses.count + 1) tries (\(problem)); the run's exit code stands")
        return false
    }

    /// `Name: value` as a header; nil when it is not one.
    static func header(_ text: String?) -> (String, String)? {
        guard let text, let colon = text.firstIndex(of: ":") else { return nil }
        let name = text[..<colon].trimmingCharacters(in: .whitespaces)
        let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, !value.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }),
            !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A })
        else { return nil }
        return (name, value)
    }
}
