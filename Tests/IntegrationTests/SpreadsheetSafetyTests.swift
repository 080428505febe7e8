import Foundation
import Jobs
import Sandbox
import Testing

extension EndToEnd {
    /// Compliance staff open the CSVs in a spreadsheet: text from the manifest or from the service that a
    /// spreadsheet would run as a formula is written with a leading `'` (`csv_formulas: escape`, the default);
    /// numbers, the msisdn column among them, never change. `csv_formulas: keep` writes the raw text.
    @Suite(.timeLimit(.minutes(2)))
    struct SpreadsheetSafetyTests {
        static let manifest = """
            customer_id,msisdn
            "=HYPERLINK(""http://x.example"",""y"")",+31612345678
            @SUM(1),0612345679
            +cmd,+31612345680
            -2+3,=1+2
            C5,@A1
            C6,+31612345681

            """

        func run(extra: String) async throws -> (results: [[String]], rejects: [[String]]) {
            let sandbox = try await RunningSandbox.start { $0.sendsFormulaText = true }
            let workspace = try Workspace()
            try workspace.writeNumberVerifyJob(origin: sandbox.origin, extra: extra)
            try workspace.writeManifest(Self.manifest)
            let outcome = try await BatchRunnerProcess.run(["run", workspace.jobFile], environment: sandbox.credentials)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            return (try workspace.csv("results.csv"), try workspace.csv("rejects.csv"))
        }

        @Test func formulaTextFromTheManifestAndTheServiceIsEscapedButNumbersAreNot() async throws {
            let (results, rejects) = try await run(extra: "")
            let rows = Dictionary(uniqueKeysWithValues: results.dropFirst().map { ($0[0], $0) })
            #expect(rows["1"]?[1] == #"'=HYPERLINK("http://x.example","y")"#)
            #expect(rows["2"]?[1] == "'@SUM(1)")
            #expect(rows["3"]?[1] == "'+cmd")
            #expect(rows["6"]?[1] == "C6")
            for row in rows.values {
                let msisdn = row[2]
                #expect(msisdn.hasPrefix("31") && msisdn.allSatisfy { $0.isNumber }, "the msisdn column is never changed: \(row)")
                #expect(row[4].hasPrefix("'=HYPERLINK("), "the operator name from the service: \(row)")
                let attempts = row[9]
                #expect(attempts.allSatisfy { $0.isNumber }, "attempts: \(row)")
            }
            let rejected = Dictionary(uniqueKeysWithValues: rejects.dropFirst().map { ($0[0], $0) })
            #expect(rejected["4"].map { [$0[1], $0[2]] } == ["'-2+3", "'=1+2"])
            #expect(rejected["5"].map { [$0[1], $0[2]] } == ["C5", "'@A1"])
            // No cell of either file begins with a character a spreadsheet would run.
            for cell in (results + rejects).joined() {
                #expect(!(cell.first.map { "=+-@\t\r".contains($0) } ?? false), "cell `\(cell)`")
            }
        }

        @Test func csvFormulasKeepWritesTheRawText() async throws {
            let (results, rejects) = try await run(extra: "csv_formulas: keep")
            let rows = Dictionary(uniqueKeysWithValues: results.dropFirst().map { ($0[0], $0) })
            #expect(rows["1"]?[1] == #"=HYPERLINK("http://x.example","y")"#)
            #expect(rows["3"]?[1] == "+cmd")
            #expect(rows["1"]?[4] == #"=HYPERLINK("http://x.example","KPN")"# || rows["1"]?[4].hasPrefix("=HYPERLINK(") == true)
            #expect(rejects.dropFirst().first { $0[0] == "4" }?[2] == "=1+2")
        }
    }
}
