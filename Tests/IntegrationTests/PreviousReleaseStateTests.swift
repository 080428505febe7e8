import Foundation
import Testing

extension EndToEnd {
    /// States the previous release made resume with this one. Tests/Corpus/previous-release holds them as release
    /// 0.9.0 left them (`run job.yml --sandbox --limit N`, before the intake settings became a typed, versioned
    /// value): the job file, the manifest, the state with its generation mirror, and the outputs so far. Each is
    /// copied elsewhere first, as an operator moves a state with its job after an upgrade.
    @Suite(.timeLimit(.minutes(2)))
    struct PreviousReleaseStateTests {
        static let corpus = MalformedCorpus.folder + "/previous-release"

        static func copy(_ kind: String) throws -> Workspace {
            let workspace = try Workspace()
            for entry in try FileManager.default.contentsOfDirectory(atPath: corpus + "/" + kind) {
                try FileManager.default.copyItem(atPath: "\(corpus)/\(kind)/\(entry)", toPath: workspace.folder + "/" + entry)
            }
            return workspace
        }

        @Test(arguments: [("number-verify", 40), ("pim-qr", 30)])
        func aStateThePreviousReleaseMadeResumes(kind: String, rows: Int) async throws {
            let workspace = try Self.copy(kind)
            let before = try workspace.csv("results.csv").dropFirst()
            #expect(!before.isEmpty && before.count < rows, "the fixture is a run stopped halfway")
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--sandbox", "--no-progress"])
            #expect(outcome.status == 0, "\(outcome.stderr.suffix(1500))")
            let table = try workspace.csv("results.csv")
            let status = try #require(table.first?.firstIndex(of: "status"))
            let after = table.dropFirst()
            #expect(after.count == rows)
            #expect(Set(after.map { $0[1] }).count == rows, "every key once")
            #expect(after.allSatisfy { $0[status] == "ok" })
            // The rows the previous release finished are kept as they were (their request times included), not
            // sent again.
            for row in before { #expect(after.contains(row), "\(row)") }
        }

        @Test func aPreviousReleasesStateRefusedForAChangedSettingNamesIt() async throws {
            let workspace = try Self.copy("number-verify")
            let job = try String(contentsOfFile: workspace.jobFile, encoding: .utf8)
            try job.replacingOccurrences(of: "key: customer_id", with: "key: msisdn").write(toFile: workspace.jobFile, atomically: true, encoding: .utf8)
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile, "--sandbox", "--no-progress"])
            #expect(outcome.status == 65)
            #expect(outcome.stderr.contains(#"key: was "customer_id", now "msisdn""#), "\(outcome.stderr.suffix(1500))")
        }
    }
}
