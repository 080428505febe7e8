import Foundation
import TestSupport

/// One campaign in a PostgreSQL store, worked by several `batch-runner run` processes: each worker has its own job
/// file and output folder (as each host would), all share the manifest, the state URL and the campaign.
struct SharedCampaign {
    let workspace: Workspace
    let server: PostgresServer
    let campaign = "c-" + UUID().uuidString.prefix(8).lowercased()
    /// The job's YAML without `output`, `state` and `campaign` (the kind's own keys, endpoints, concurrency).
    let body: String
    let lease: String

    init(server: PostgresServer, lease: String = "3s", body: String) throws {
        self.workspace = try Workspace()
        self.server = server
        self.body = body
        self.lease = lease
        for worker in 1...4 { try writeJob(worker: worker) }
    }

    /// Worker `n`'s job file (`worker<n>.yml`, output `out<n>`).
    func jobFile(_ worker: Int) -> String { workspace.folder + "/worker\(worker).yml" }
    func output(_ worker: Int) -> String { workspace.folder + "/out\(worker)" }

    func writeJob(worker: Int, manifest: String = "manifest.csv") throws {
        try """
            \(body)
            manifest: \(manifest)
            output: out\(worker)
            state: \(server.url)
            campaign: \(campaign)
            lease: \(lease)
            """.write(toFile: jobFile(worker), atomically: true, encoding: .utf8)
    }

    /// The environment a worker needs: the API credentials and the database password.
    func environment(_ credentials: [String: String]) -> [String: String] {
        credentials.merging(["PGPASSWORD": PostgresServer.password]) { $1 }
    }

    func start(worker: Int, credentials: [String: String], arguments: [String] = []) throws -> BatchRunnerProcess {
        let process = BatchRunnerProcess(["run", jobFile(worker)] + arguments, environment: environment(credentials))
        try process.start()
        return process
    }

    func run(worker: Int, credentials: [String: String], arguments: [String] = []) async throws -> BatchRunnerProcess.Outcome {
        try await BatchRunnerProcess.run(["run", jobFile(worker)] + arguments, environment: environment(credentials))
    }

    /// `status --json` of the campaign, as worker `worker` sees it.
    func status(worker: Int = 1) async throws -> [String: Any] {
        let outcome = try await BatchRunnerProcess.run(["status", jobFile(worker), "--json"], environment: environment([:]))
        return try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any] ?? [:]
    }

    /// A CSV output of worker `worker` as rows of fields.
    func csv(_ name: String, worker: Int) throws -> [[String]] {
        try Workspace(folder: output(worker)).csv(name, inOutput: false)
    }
}
