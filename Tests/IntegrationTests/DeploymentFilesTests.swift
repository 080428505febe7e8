import Foundation
import Jobs
import Testing
import Yams

/// The deployment files beside the code (no cluster or systemd here): the Kubernetes CronJob parses and holds the
/// fields its comments promise, its embedded job file is a valid job, and the systemd units start only what the
/// Debian package installs.
@Suite struct DeploymentFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    private func documents() throws -> [[String: Any]] {
        let text = try String(contentsOf: Self.root.appendingPathComponent("docs/kubernetes/cronjob.yaml"), encoding: .utf8)
        return try Yams.load_all(yaml: text).map { try #require($0 as? [String: Any]) }
    }

    private func document(_ kind: String) throws -> [String: Any] {
        try #require(try documents().first { $0["kind"] as? String == kind }, "no \(kind) in cronjob.yaml")
    }

    @Test func theCronJobRunsOneAtATimeAndMapsEachExitCode() throws {
        let cronJob = try document("CronJob")
        #expect(cronJob["apiVersion"] as? String == "batch/v1")
        let spec = try #require(cronJob["spec"] as? [String: Any])
        #expect(spec["concurrencyPolicy"] as? String == "Forbid")
        #expect((spec["schedule"] as? String)?.split(separator: " ").count == 5)
        let jobSpec = try #require((spec["jobTemplate"] as? [String: Any])?["spec"] as? [String: Any])
        let podSpec = try #require((jobSpec["template"] as? [String: Any])?["spec"] as? [String: Any])
        #expect(podSpec["restartPolicy"] as? String == "Never")
        let container = try #require((podSpec["containers"] as? [[String: Any]])?.first)
        let containerName = try #require(container["name"] as? String)

        // podFailurePolicy: 64, 65 and 78 fail the Job; 69, 70 and 74 count against backoffLimit.
        let rules = try #require((jobSpec["podFailurePolicy"] as? [String: Any])?["rules"] as? [[String: Any]])
        func codes(_ action: String) -> Set<Int> {
            Set(rules.filter { $0["action"] as? String == action }.flatMap { rule -> [Int] in
                guard let onExitCodes = rule["onExitCodes"] as? [String: Any] else { return [] }
                #expect(onExitCodes["containerName"] as? String == containerName)
                #expect(onExitCodes["operator"] as? String == "In")
                return onExitCodes["values"] as? [Int] ?? []
            })
        }
        #expect(codes("FailJob").isSuperset(of: [64, 65, 78]))
        #expect(codes("Count") == [69, 70, 74])
        #expect(codes("FailJob").isDisjoint(with: [0, 75]) && codes("Count").isDisjoint(with: [0, 75]))
        #expect(jobSpec["backoffLimit"] is Int)
        // A stuck pod never blocks the next night: the Job has a deadline past the run's own timeout and its
        // kill-after, and well within a day.
        let deadline = try #require(jobSpec["activeDeadlineSeconds"] as? Int)
        #expect(deadline > 5 * 3600 + 120 && deadline < 24 * 3600, "activeDeadlineSeconds \(deadline)")

        // 75 leaves the container as 0: the Job succeeds and the next schedule resumes.
        let command = try #require(container["command"] as? [String])
        let script = try #require((container["args"] as? [String])?.first)
        #expect(command == ["/bin/sh", "-c"])
        #expect(script.contains("-eq 75") && script.contains("exit 0"))
        #expect(script.contains("batch-runner run /etc/batch-runner/jobs/number-verify.yml"))
        #expect(script.contains("timeout --foreground --preserve-status --signal=TERM --kill-after="), "a run that ignores its SIGTERM is killed")
        let syntax = Process()
        syntax.executableURL = URL(fileURLWithPath: "/bin/sh")
        syntax.arguments = ["-n", "-c", script]
        try syntax.run()
        syntax.waitUntilExit()
        #expect(syntax.terminationStatus == 0, "the container's script is not valid sh")
    }

    @Test func theCronJobsVolumesAndJobFileFitTogether() throws {
        let podSpec = try #require(
            ((((try document("CronJob")["spec"] as? [String: Any])?["jobTemplate"] as? [String: Any])?["spec"]
                as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        let volumes = try #require(podSpec["volumes"] as? [[String: Any]])
        let claims = volumes.compactMap { ($0["persistentVolumeClaim"] as? [String: Any])?["claimName"] as? String }
        let claim = try #require(claims.first)
        #expect((try document("PersistentVolumeClaim")["metadata"] as? [String: Any])?["name"] as? String == claim)
        let configMap = try document("ConfigMap")
        #expect(volumes.contains { ($0["configMap"] as? [String: Any])?["name"] as? String == (configMap["metadata"] as? [String: Any])?["name"] as? String })

        // The job file in the ConfigMap is a valid job whose state lies on the claim's mount.
        let text = try #require((configMap["data"] as? [String: Any])?["number-verify.yml"] as? String)
        let job = try JobFile.parse(text, path: "/etc/batch-runner/jobs/number-verify.yml")
        #expect(job.kind == .numberVerify)
        #expect(job.output.hasPrefix("/var/lib/batch-runner/"))
        let container = try #require((podSpec["containers"] as? [[String: Any]])?.first)
        let mounts = try #require(container["volumeMounts"] as? [[String: Any]])
        #expect(mounts.contains { $0["mountPath"] as? String == "/var/lib/batch-runner" })
        // Credentials come from the secret, by the names the job file gives.
        #expect(job.credentials.clientIDVariable == "KPN_CLIENT_ID")
        #expect((container["envFrom"] as? [[String: Any]])?.first?["secretRef"] != nil)
    }

    @Test(arguments: ["batch-runner-nightly.service", "batch-runner-nightly.timer", "batch-runner-report@.service"])
    func theSystemdUnitsStartWhatThePackageInstalls(unit: String) throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("docs/systemd/\(unit)"), encoding: .utf8)
        let installed: Set = ["/usr/bin/batch-runner", "/usr/lib/batch-runner/run-nightly.sh"]
        for line in text.split(separator: "\n") where line.hasPrefix("ExecStart") {
            let path = String(line.split(separator: "=", maxSplits: 1)[1].split(separator: " ")[0])
            #expect(installed.contains(path), "\(unit): \(line)")
        }
        for line in text.split(separator: "\n") where line.hasPrefix("Documentation=") {
            #expect(line.contains("/usr/share/doc/batch-runner/scheduling.md"), "\(unit): \(line)")
        }
        #expect(!text.contains("/usr/local/bin/batch-runner") && !text.contains("/opt/batch-runner"))
    }

    /// run-nightly.sh counts a job's consecutive stops (75) in a file it replaces, never writes through: a link
    /// planted under the counter's name (the report unit runs it as root) leaves its target as it was.
    @Test func theStopCounterReplacesAPlantedLinkInsteadOfWritingThroughIt() throws {
        let folder = NSTemporaryDirectory() + "run-nightly-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder + "/state", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let victim = folder + "/victim"
        try "precious\n".write(toFile: victim, atomically: true, encoding: .utf8)
        let counter = folder + "/state/.run-nightly-nightly.stops"
        try FileManager.default.createSymbolicLink(atPath: counter, withDestinationPath: victim)
        for expected in ["1", "2"] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            process.arguments = ["30", "bash", Self.root.appendingPathComponent("docs/examples/run-nightly.sh").path, "--report", "nightly.service"]
            process.environment = ["PATH": "/usr/bin:/bin", "MONITOR_EXIT_STATUS": "75", "NOTIFY": "/bin/true", "STATE_DIR": folder + "/state"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n", "the link's target was written")
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: counter)) == nil, "the counter is a file of its own")
            #expect(try String(contentsOfFile: counter, encoding: .utf8) == expected + "\n")
        }
    }
}
