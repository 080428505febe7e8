import ArgumentParser
import Foundation
import Jobs

/// `batch-runner validate JOB.yml`: checks a job before it runs, without calling any API.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a job file, its credential variables and its manifest without calling any API.",
        discussion: """
            Example:
              batch-runner validate jobs/number-verify.yml
              batch-runner validate jobs/pim-qr.yml --manifest campaign.csv --json
            Reads the manifest exactly as a run would (same rules, same rejects) and reports the counts and the
            first rejected rows with their reasons. Exits 0 when the job can run (rejected rows included), 65 when
            the manifest cannot be used, 78 when the job file or a credential variable is wrong.
            """
    )

    @Argument(help: "The job file (YAML).")
    var jobFile: String

    @Option(help: "Check this manifest instead of the job file's.")
    var manifest: String?

    @Flag(help: "Do not check the credential variables (for runs with --sandbox).")
    var sandbox = false

    @Option(help: "List at most this many rejected rows.")
    var rejects = 20

    @Flag(help: "Print the report as JSON, for scripts.")
    var json = false

    func run() async throws {
        var job: JobConfiguration
        do {
            job = try JobFile.load(path: jobFile)
            if let manifest { job.manifest = absolutePath(manifest) }
            if !sandbox { _ = try Credentials.resolve(job.credentials) }
        } catch {
            throw failure(error)
        }
        let report: JobValidation
        do {
            report = try await JobValidation.validate(job, rejectLimit: max(rejects, 0))
        } catch {
            throw failure(error, during: .validation)
        }
        if json {
            try printJSON(report)
            return
        }
        var lines = [
            "job file \(jobFile): ok (kind \(report.kind))",
            sandbox ? "credentials: not checked (--sandbox)" : "credentials: \(job.credentials.clientIDVariable) and \(job.credentials.clientSecretVariable) are set",
            "manifest \(report.manifest): \(report.rows) rows, \(report.accepted) accepted, \(report.rejected) rejected; a run sends \(report.requests) requests",
        ]
        for reject in report.rejects {
            lines.append("  row \(reject.row)\(reject.key.map { $0.isEmpty ? "" : " (key \($0))" } ?? ""): \(reject.reason)")
        }
        if report.rejected > report.rejects.count {
            lines.append("  ... and \(report.rejected - report.rejects.count) more (a run writes them all to rejects.csv)")
        }
        print(lines.joined(separator: "\n"))
    }
}
