import ArgumentParser
import Foundation
import CProcessSafety
import Jobs

/// `batch-runner`: verifies customer data in bulk against KPN's APIs, resumably, within their quotas.
@main
struct BatchRunnerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch-runner",
        abstract: "Verify customer data in bulk against KPN's APIs, resumably and within their quotas.",
        discussion: """
            Exit codes: 0 all accepted rows ok, 3 some rows failed, 64 usage, 65 manifest unusable,
            69 the service refuses (credentials, certificate, proxy, unreachable), 74 output not writable, 75 stopped early (run again to resume),
            78 job file or environment wrong.
            """,
        version: RunnerVersion.current,
        subcommands: [RunCommand.self, StatusCommand.self, ValidateCommand.self, ExportCommand.self, SandboxCommand.self]
    )

    /// Core dumps are turned off before anything is read: after a crash one would hold the client secret, tokens
    /// and customers' numbers (README, "Secrets and personal data").
    static func main() async {
        _ = batch_runner_disable_core_dumps()
        await main(nil)
    }
}
