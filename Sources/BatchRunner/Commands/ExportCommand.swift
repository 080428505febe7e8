import ArgumentParser
import Foundation
import Jobs

/// `batch-runner export JOB.yml [--output DIR]`: a job's complete output folder, from its state alone.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a job's complete output folder (results, rejects, saved files, checksums, summary) from its state.",
        discussion: """
            Example:
              batch-runner export jobs/idscan-reports.yml --output /srv/audit/dec-cleanup
              cd /srv/audit/dec-cleanup/reports && sha256sum -c SHA256SUMS
            Sends no request and takes no lock: it may run at any time, also while workers run (the folder then
            shows the campaign as it stands). A PostgreSQL state keeps every saved file, so the export needs
            nothing else; for a SQLite state the saved files are read from the job's output folder. Every saved
            file is checked against the SHA-256 recorded when it was fetched.
            Exit codes: 0 written, 69 database unreachable, 74 a file cannot be written or a saved file is missing
            or changed, 78 job file problem.
            """
    )

    @Argument(help: "The job file (YAML).")
    var jobFile: String

    @Option(help: "Where to write the folder (default: the job's output folder).")
    var output: String?

    @Option(help: "The job's state, if the run was given --state.")
    var state: String?

    func run() async throws {
        var job: JobConfiguration
        do {
            job = try JobFile.load(path: jobFile)
        } catch {
            throw failure(error)
        }
        if let state { job.state = absoluteState(state) }
        let folder = output.map(absolutePath) ?? job.output
        do {
            let outcome = try await JobExport.write(job, to: folder)
            print("exported \(outcome.rows) rows and \(outcome.files) saved files to \(outcome.folder)")
        } catch {
            throw failure(error, during: .outputs(folder: folder))
        }
    }
}
