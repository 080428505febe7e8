import ArgumentParser
import Foundation
import Jobs

/// `batch-runner status JOB.yml`: where a job stands, without changing anything.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show where a job stands: rows by state, quota and next reset, last errors, whether a run is active.",
        discussion: """
            Example:
              batch-runner status jobs/number-verify.yml
              batch-runner status jobs/number-verify.yml --json | jq .pending
            Reads the job's state database only; it never sends a request and never takes the run lock.
            """
    )

    @Argument(help: "The job file (YAML).")
    var jobFile: String

    @Option(help: "The job's output folder, if the run was given --output.")
    var output: String?

    @Option(help: "The job's state database, if the run was given --state.")
    var state: String?

    @Flag(help: "Print the status as JSON, for scripts.")
    var json = false

    func run() async throws {
        var job: JobConfiguration
        do {
            job = try JobFile.load(path: jobFile)
        } catch {
            throw failure(error)
        }
        if let output { job.output = absolutePath(output) }
        if let state { job.state = absoluteState(state) }
        let status: JobStatus
        do {
            status = try await JobStatus.read(job)
        } catch {
            throw failure(error)
        }
        if json {
            try printJSON(status)
        } else {
            print(status.text, terminator: "")
        }
    }
}
