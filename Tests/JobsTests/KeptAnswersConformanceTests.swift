import Foundation
import Testing
import TestSupport

@testable import Jobs

/// What every store keeps for a recurring job: its provenance, and the answers a later campaign reuses (`reuse`),
/// with the files they saved, for the very same request only.
@Suite struct KeptAnswersConformanceTests {
    /// The conformance suite's rows: two share a number, one is rejected.
    let rows = CheckpointStoreConformanceTests().rows

    /// A recurring job's state: its provenance, `not_found` counted apart, and answers kept when a campaign starts
    /// over and reused by the next one from the same source only (attempts 0, counted as reused).
    @Test(arguments: StoreKind.allCases) func answersAreKeptAndReusedAcrossCampaigns(_ kind: StoreKind) async throws {
        let store = try await kind.make(rows: rows)
        let provenance = StateProvenance(kind: "number-verify", rowSettings: "nv", jobFile: "/j.yml", manifest: "/m.csv", origins: ["https://a:443"], sandbox: false)
        #expect(try await store.provenance() == nil)
        try await store.recordProvenance(provenance)
        #expect(try await store.provenance() == provenance)
        let pending = try await store.claim(limit: 100)
        try await store.complete(
            [
                WorkCompletion(id: pending[0].id, state: .succeeded, attempts: 2, result: ["KPN", "NL", "", ""], error: nil),
                WorkCompletion(id: pending[1].id, state: .notFound, attempts: 1, result: nil, error: nil),
            ],
            quota: nil
        )
        #expect(try await store.counts().notFound == 1)
        try await store.keepAnswers(source: provenance.sourceKey, since: nil) { _ in nil }
        let next = try await StoreKind.nextRun(after: store)
        try await next.replaceIntake(rows: rows, duplicateReason: nil)
        #expect(try await next.reuseAnswers(source: "https://elsewhere:443", since: 0) { _, _ in } == 0, "answers from another source are never reused")
        #expect(try await next.reuseAnswers(source: provenance.sourceKey, since: Date().timeIntervalSince1970 + 3_600) { _, _ in } == 0, "nor older ones")
        #expect(try await next.reuseAnswers(source: provenance.sourceKey, since: 0) { _, _ in } == 3, "rows 1 and 3 share the ok answer; row 2 was not_found")
        let counts = try await next.counts()
        #expect(counts.succeeded == 2 && counts.notFound == 1 && counts.reused == 3 && counts.pending == 1)
        var finished: [FinishedRow] = []
        try await next.forEachFinishedRow { finished.append($0) }
        #expect(finished.map(\.row) == [1, 2, 3])
        #expect(finished[0].result == ["KPN", "NL", "", ""] && finished[0].attempts == 0)
        #expect(finished[1].state == .notFound)
        #expect(try await next.claim(limit: 100).map(\.value) == ["31633333333"], "only the new number is left to send")
    }

    /// A pim-qr answer is a file: it is kept with its bytes, restored before the row is finished, and recorded as
    /// the new campaign's saved file. Only the same request (value and payload) reuses it; an answer whose file was
    /// gone at keeping time is not kept.
    @Test(arguments: StoreKind.allCases) func answersWithFilesAreReusedForTheSameRequestOnly(_ kind: StoreKind) async throws {
        let night1 = [
            IntakeRow(row: 1, key: "Ann", value: "ann", payload: "Ann\n{\"title\":\"A\"}"),
            IntakeRow(row: 2, key: "Bob", value: "bob", payload: "Bob\n{\"title\":\"B\"}"),
            IntakeRow(row: 3, key: "Cy", value: "cy", payload: "Cy\n{\"title\":\"C\"}"),
        ]
        let store = try await kind.make(rows: night1)
        let items = try await store.claim(limit: 10)
        func file(_ name: String) -> SavedFile {
            SavedFile(
                path: "qr/\(name).svg", kind: "qr", sha256: "sha-\(name)", bytes: 5, requestedAt: "2026-12-07T03:00:00Z",
                apiPath: "POST /image", httpStatus: 200, apiVersion: "", contentType: "image/svg+xml"
            )
        }
        try await store.complete(
            items.map { item in
                let name = PimQRJob.fileNameAndBody(of: item).name
                return WorkCompletion(id: item.id, state: .succeeded, attempts: 1, result: ["qr/\(name).svg", "sha-\(name)", "5"], error: nil, files: [file(name)])
            },
            quota: nil
        )
        // Cy's file is gone from the output folder: its answer cannot be handed on.
        try await store.keepAnswers(source: "sandbox", since: nil) { file in file.path == "qr/Cy.svg" ? nil : Array("<svg \(file.path)".utf8) }
        let next = try await StoreKind.nextRun(after: store)
        let night2 = [
            IntakeRow(row: 1, key: "Ann", value: "ann", payload: "Ann\n{\"title\":\"A\"}"),
            IntakeRow(row: 2, key: "Bob", value: "bob", payload: "Bob\n{\"title\":\"Bob's new title\"}"),
            IntakeRow(row: 3, key: "Cy", value: "cy", payload: "Cy\n{\"title\":\"C\"}"),
        ]
        try await next.replaceIntake(rows: night2, duplicateReason: nil)
        var restored: [String: String] = [:]
        let reused = try await next.reuseAnswers(source: "sandbox", since: 0) { file, content in
            restored[file.path] = String(decoding: content, as: UTF8.self)
        }
        #expect(reused == 1, "Ann only: Bob's request changed, Cy's file was lost")
        #expect(restored == ["qr/Ann.svg": "<svg qr/Ann.svg"])
        var saved: [SavedFile] = []
        try await next.forEachSavedFile { file, _, _ in saved.append(file) }
        #expect(saved == [file("Ann")], "the restored file is the new campaign's, as it was saved")
        var finished: [FinishedRow] = []
        try await next.forEachFinishedRow { finished.append($0) }
        #expect(finished.map(\.row) == [1] && finished[0].result == ["qr/Ann.svg", "sha-Ann", "5"] && finished[0].attempts == 0)
        #expect(Set(try await next.claim(limit: 10).map(\.value)) == ["bob", "cy"])
    }

    /// `validate` counts what a new campaign would reuse from the answers the store lists: kept ones from the same
    /// source, and the current campaign's own when asked, within the window, oldest first.
    @Test(arguments: StoreKind.allCases) func reusableAnswersListKeptAndCurrentOnes(_ kind: StoreKind) async throws {
        let store = try await kind.make(rows: rows)
        let items = try await store.claim(limit: 10)
        try await store.complete([WorkCompletion(id: items[0].id, state: .succeeded, attempts: 1, result: ["KPN"], error: nil)], quota: nil)
        try await store.keepAnswers(source: "https://a:443", since: nil) { _ in nil }
        try await store.complete([WorkCompletion(id: items[1].id, state: .notFound, attempts: 1, result: nil, error: nil)], quota: nil)
        func list(source: String, since: Double, current: Bool) async throws -> [String] {
            var values: [String] = []
            try await store.forEachReusableAnswer(source: source, since: since, includingCurrent: current) { values.append($0.value) }
            return values
        }
        #expect(try await list(source: "https://a:443", since: 0, current: false) == ["31611111111"])
        #expect(try await list(source: "https://a:443", since: 0, current: true).sorted() == ["31611111111", "31611111111", "31622222222"])
        #expect(try await list(source: "sandbox", since: 0, current: false).isEmpty)
        #expect(try await list(source: "https://a:443", since: Date().timeIntervalSince1970 + 60, current: true).isEmpty)
    }
}
