package import Jobs
import Foundation
import Synchronization

/// A checkpoint store in memory, for engine tests: it behaves as the SQLite store does (the conformance suite
/// runs against both), with none of its files, locks or performance work.
package final class InMemoryCheckpointStore: CheckpointStore {
    private struct Item {
        var value: String
        var key: String?
        var firstRow: Int
        var payload: String?
        var state = WorkState.pending
        var attempts = 0
        var result: [String]?
        var error: String?
        var files: [SavedFile] = []
        var rows: [Int] = []
        /// When it finished (epoch seconds), for `reuse`.
        var finishedAt: Double?
    }

    private struct Answer {
        var payload: String?
        var state: WorkState
        var result: [String]?
        var answeredAt: Double
        var source: String
        var files: [(file: SavedFile, content: [UInt8])] = []
    }

    private struct State {
        var signature: IntakeSignature?
        var provenance: StateProvenance?
        var items: [Int64: Item] = [:]
        var itemByValue: [String: Int64] = [:]
        /// Every row: accepted ones with their item, rejected ones with their reason.
        var rows: [Int: (key: String?, value: String, item: Int64?, reason: String?)] = [:]
        var claimed: Int64 = 0
        var quotas: [String: StoredQuota] = [:]
        var isRunActive = false
        var answers: [String: Answer] = [:]
        var reused = 0
    }

    private let state = Mutex(State())
    private let beforeCompleting: (@Sendable ([WorkCompletion]) async -> Void)?
    private let beforeClaiming: (@Sendable () async throws -> Void)?

    /// - Parameters:
    ///   - beforeCompleting: Called with each batch before it is committed (a test can hold a commit there, on its
    ///     manual clock, to see what queues behind it).
    ///   - beforeClaiming: Called before each claim (a test can hold or fail a claim there).
    package init(
        beforeCompleting: (@Sendable ([WorkCompletion]) async -> Void)? = nil,
        beforeClaiming: (@Sendable () async throws -> Void)? = nil
    ) {
        self.beforeCompleting = beforeCompleting
        self.beforeClaiming = beforeClaiming
    }

    /// Takes the run, as opening a SQLite store for a run does; a second take fails with 75.
    package func beginRun() throws {
        try state.withLock { state in
            guard !state.isRunActive else { throw JobError(.stoppedResumable, "Another run is using the state.") }
            state.isRunActive = true
        }
    }

    package func endRun() async {
        state.withLock { state in
            state.isRunActive = false
            state.claimed = 0
        }
    }
    package func isRunActive() async throws -> Bool { state.withLock { $0.isRunActive } }

    package func claim(limit: Int) async throws -> [WorkItem] {
        try await beforeClaiming?()
        return state.withLock { state in
            let items = state.items.filter { $0.key > state.claimed && $0.value.state == .pending }
                .sorted { $0.key < $1.key }.prefix(limit)
                .map { WorkItem(id: $0.key, value: $0.value.value, payload: $0.value.payload, attempts: $0.value.attempts) }
            if let last = items.last { state.claimed = last.id }
            return Array(items)
        }
    }

    package func intakeSignature() async throws -> IntakeSignature? { state.withLock { $0.signature } }

    package func provenance() async throws -> StateProvenance? { state.withLock { $0.provenance } }

    package func recordProvenance(_ provenance: StateProvenance) async throws { state.withLock { $0.provenance = provenance } }

    package func replaceIntake(from source: any IntakeSource, duplicateReason: DuplicateReason?) async throws -> IntakeSignature {
        var fresh = State()
        fresh.isRunActive = state.withLock { $0.isRunActive }
        while let batch = try source.nextBatch() {
            for entry in batch {
                let row = entry.row
                if let reason = row.rejectReason {
                    fresh.rows[row.row] = (row.key, row.value, nil, reason)
                } else if let first = fresh.itemByValue[row.value] {
                    if let duplicateReason {
                        let firstRow = fresh.items[first]!.firstRow
                        fresh.rows[row.row] = (row.key, row.value, nil, duplicateReason(row.value, firstRow))
                    } else {
                        fresh.rows[row.row] = (row.key, row.value, first, nil)
                        fresh.items[first]!.rows.append(row.row)
                    }
                } else {
                    let id = Int64(row.row)
                    fresh.items[id] = Item(value: row.value, key: row.key, firstRow: row.row, payload: row.payload, rows: [row.row])
                    fresh.itemByValue[row.value] = id
                    fresh.rows[row.row] = (row.key, row.value, id, nil)
                }
            }
        }
        let signature = try source.signature()
        fresh.signature = signature
        state.withLock { state in
            fresh.answers = state.answers
            state = fresh
        }
        return signature
    }

    package func markSending(_ id: Int64) async throws {
        let marked = state.withLock { state in
            guard state.items[id]?.state == .pending else { return false }
            state.items[id]?.state = .sending
            return true
        }
        guard marked else { throw StoreError.rowTaken(state: "memory") }
    }

    package func settleInterruptedSends(error: String) async throws -> Int {
        state.withLock { state in
            let ids = state.items.filter { $0.value.state == .sending }.map(\.key)
            for id in ids { (state.items[id]!.state, state.items[id]!.error) = (.unknown, error) }
            return ids.count
        }
    }

    package func complete(_ completions: [WorkCompletion], quota: StoredQuota?) async throws {
        await beforeCompleting?(completions)
        state.withLock { state in
            for completion in completions where state.items[completion.id] != nil {
                state.items[completion.id]!.state = completion.state
                state.items[completion.id]!.attempts = completion.attempts
                state.items[completion.id]!.result = completion.result
                state.items[completion.id]!.error = completion.error
                state.items[completion.id]!.finishedAt = Date().timeIntervalSince1970
                if !completion.files.isEmpty { state.items[completion.id]!.files = completion.files }
            }
            if let quota { state.quotas[quota.limiter] = quota }
        }
    }

    package func keepAnswers(source: String, since: Double?, contents: (SavedFile) -> [UInt8]?) async throws {
        let finished = state.withLock { state in state.items.values.filter { [.succeeded, .notFound].contains($0.state) && $0.finishedAt != nil } }
        var kept: [String: Answer] = [:]
        for item in finished {
            var answer = Answer(payload: item.payload, state: item.state, result: item.result, answeredAt: item.finishedAt!, source: source)
            let files = item.files.map { ($0, contents($0)) }
            guard files.allSatisfy({ $0.1 != nil }) else { continue }
            answer.files = files.map { ($0.0, $0.1!) }
            kept[item.value] = answer
        }
        state.withLock { state in
            for item in finished { state.answers[item.value] = kept[item.value] }
            if let since { state.answers = state.answers.filter { $0.value.answeredAt >= since } }
        }
    }

    package func reuseAnswers(source: String, since: Double, restore: (SavedFile, [UInt8]) throws -> Void) async throws -> Int {
        let matches = state.withLock { state in
            state.items.filter { id, item in
                guard item.state == .pending, let answer = state.answers[item.value] else { return false }
                return answer.source == source && answer.answeredAt >= since && answer.payload == item.payload
            }.map { ($0.key, state.answers[$0.value.value]!) }
        }
        for (_, answer) in matches {
            for (file, content) in answer.files { try restore(file, content) }
        }
        return state.withLock { state in
            var rows = 0
            for (id, answer) in matches {
                state.items[id]!.state = answer.state
                (state.items[id]!.result, state.items[id]!.attempts, state.items[id]!.finishedAt) = (answer.result, 0, answer.answeredAt)
                state.items[id]!.files = answer.files.map(\.file)
                rows += state.items[id]!.rows.count
            }
            state.reused = rows
            return rows
        }
    }

    package func forEachReusableAnswer(
        source: String, since: Double, includingCurrent: Bool, _ body: (KeptAnswer) throws -> Void
    ) async throws {
        let answers = state.withLock { state in
            var answers = state.answers.filter { $0.value.source == source && $0.value.answeredAt >= since }.map {
                KeptAnswer(value: $0.key, payload: $0.value.payload, state: $0.value.state, result: $0.value.result, answeredAt: $0.value.answeredAt)
            }
            if includingCurrent {
                for item in state.items.values where [.succeeded, .notFound].contains(item.state) {
                    guard let at = item.finishedAt, at >= since else { continue }
                    answers.append(KeptAnswer(value: item.value, payload: item.payload, state: item.state, result: item.result, answeredAt: at))
                }
            }
            return answers.sorted { $0.answeredAt < $1.answeredAt }
        }
        for answer in answers { try body(answer) }
    }

    package func requeue(_ states: [WorkState]) async throws -> Int {
        state.withLock { state in
            let ids = state.items.filter { states.contains($0.value.state) }.map(\.key)
            for id in ids { (state.items[id]!.state, state.items[id]!.error) = (.pending, nil) }
            state.claimed = 0
            return ids.count
        }
    }

    package func counts() async throws -> StateCounts {
        state.withLock { state in
            var counts = StateCounts()
            counts.rows = state.rows.count
            counts.reused = state.reused
            counts.rejected = state.rows.values.filter { $0.reason != nil }.count
            for item in state.items.values {
                switch item.state {
                case .succeeded: counts.succeeded += item.rows.count
                case .failed: counts.failed += item.rows.count
                case .notFound: counts.notFound += item.rows.count
                case .unknown, .sending: counts.unknown += item.rows.count
                case .pending:
                    counts.pending += item.rows.count
                    counts.pendingWork += 1
                }
            }
            return counts
        }
    }

    package func forEachFinishedRow(_ body: (FinishedRow) throws -> Void) async throws {
        let finished = state.withLock { state in
            state.rows.sorted { $0.key < $1.key }.compactMap { number, row -> FinishedRow? in
                guard let id = row.item, let item = state.items[id], item.state != .pending else { return nil }
                return FinishedRow(
                    row: number, key: row.key, value: item.value, state: item.state == .sending ? .unknown : item.state,
                    attempts: item.attempts, result: item.result, error: item.error
                )
            }
        }
        for row in finished { try body(row) }
    }

    package func containsItem(value: String) async throws -> Bool {
        state.withLock { state in state.items.values.contains { $0.value == value } }
    }

    package func forEachSavedFile(_ body: (_ file: SavedFile, _ value: String, _ row: Int64) throws -> Void) async throws {
        let files = state.withLock { state in
            state.items.flatMap { id, item in item.files.map { ($0, item.value, id) } }
                .sorted { $0.0.path < $1.0.path }
        }
        for (file, value, row) in files { try body(file, value, row) }
    }

    package func forEachRejectedRow(_ body: (RejectedRow) throws -> Void) async throws {
        let rejected = state.withLock { state in
            state.rows.sorted { $0.key < $1.key }.compactMap { number, row in
                row.reason.map { RejectedRow(row: number, key: row.key, value: row.value, reason: $0) }
            }
        }
        for row in rejected { try body(row) }
    }

    package func errorCounts(limit: Int) async throws -> [(error: String, count: Int)] {
        state.withLock { state in
            let failed = state.items.values.filter { [.failed, .unknown, .sending].contains($0.state) }
            let counts = Dictionary(grouping: failed, by: { $0.error ?? "" }).map { (error: $0.key, count: $0.value.count) }
            return Array(counts.sorted { ($0.count, $1.error) > ($1.count, $0.error) }.prefix(limit))
        }
    }

    package func allQuotas() async throws -> [StoredQuota] {
        state.withLock { $0.quotas.values.sorted { $0.limiter < $1.limiter } }
    }

    package func quota(for limiter: String) async throws -> StoredQuota? { state.withLock { $0.quotas[limiter] } }

    package func saveQuota(_ quota: StoredQuota) async throws { state.withLock { $0.quotas[quota.limiter] = quota } }
}
