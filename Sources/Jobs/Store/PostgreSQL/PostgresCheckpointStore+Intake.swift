import Crypto
import Foundation
import Logging
import NIOCore
import PostgresNIO

extension PostgresCheckpointStore {
    package func intakeSignature() async throws -> IntakeSignature? {
        try await connections.with("read the campaign's intake") { connection in
            let rows = try await connection.query(
                "SELECT manifest_sha256, job FROM batch_runner_campaigns WHERE campaign = \(campaign) AND manifest_sha256 IS NOT NULL",
                logger: logger
            )
            for (sha256, job) in try rows.decode((String, String).self) {
                return IntakeSignature(manifestSHA256: sha256, job: job)
            }
            return nil
        }
    }

    /// Replaces this campaign's rows (only this campaign's) with a fresh intake, in one transaction.
    ///
    /// The campaign's work items live in a partition of `batch_runner_work` of their own (``workPartition``),
    /// made afresh: rows the repeat filter calls surely new are streamed into it with `COPY` while it has no index,
    /// the few that may repeat an earlier value are settled at the end, in row order, as the SQLite store settles
    /// them, and only then are its indexes built and the partition attached. Rejected rows go to
    /// `batch_runner_extra_rows`.
    package func replaceIntake(from source: any IntakeSource, duplicateReason: DuplicateReason?) async throws -> IntakeSignature {
        let signature = try await connections.with("read the manifest into the campaign", transaction: .once, timeout: intakeTimeout) { connection in
            // Intakes of different campaigns attach their partitions one at a time: two at once deadlock on the
            // default partition, which an attach locks whole.
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.partitionLock))", logger: logger)
            try await connection.query(
                "INSERT INTO batch_runner_campaigns (campaign) VALUES (\(campaign)) ON CONFLICT (campaign) DO NOTHING",
                logger: logger
            )
            try await connection.query("SELECT 1 FROM batch_runner_campaigns WHERE campaign = \(campaign) FOR UPDATE", logger: logger)
            for table in ["batch_runner_work_default", "batch_runner_extra_rows", "batch_runner_files"] {
                try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE campaign = $1", binds: binds(campaign)), logger: logger)
            }
            try await connection.query(
                "UPDATE batch_runner_campaigns SET manifest_sha256 = NULL, job = NULL, rows = 0, rejected = 0, items = NULL, reused = 0 WHERE campaign = \(campaign)",
                logger: logger
            )
            // The new items load into a table of their own; the old partition stays until the swap at the end. A
            // leftover of an intake that died before its commit cannot exist (the table is made in this
            // transaction). Its check lets the attach skip a scan proving every row belongs to the campaign.
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        CREATE TABLE \(loadingPartition) (LIKE batch_runner_work INCLUDING DEFAULTS,
                            CONSTRAINT \(workPartition)_campaign CHECK (campaign = \(Self.literal(campaign))))
                        """
                ),
                logger: logger
            )
            var tally = IntakeTally()
            var suspects: [IntakeRow] = []
            var extras = CopyText()
            let campaignField = CopyText.field(campaign)
            try await connection.copyFrom(table: loadingPartition, columns: ["campaign", "id", "key", "value", "payload"], logger: logger) { writer in
                var items = CopyText()
                while let batch = try source.nextBatch() {
                    for item in batch {
                        tally.rows += 1
                        let row = item.row
                        if let reason = row.rejectReason {
                            tally.rejected += 1
                            extras.append([campaignField, String(row.row), CopyText.field(row.key), CopyText.field(row.value), CopyText.field(reason), CopyText.null])
                        } else if item.maybeRepeated {
                            suspects.append(row)
                        } else {
                            tally.accepted += 1
                            tally.items += 1
                            items.append([campaignField, String(row.row), CopyText.field(row.key), CopyText.field(row.value), CopyText.field(row.payload)])
                        }
                    }
                    if items.isLarge { try await writer.write(items.take()) }
                }
                if !items.isEmpty { try await writer.write(items.take()) }
            }
            let made = try source.signature()
            if !extras.isEmpty {
                try await connection.copyFrom(table: "batch_runner_extra_rows", columns: ["campaign", "row", "key", "value", "reject_reason", "work_id"], logger: logger) { writer in
                    try await writer.write(extras.take())
                }
            }
            if !suspects.isEmpty {
                try await settle(suspects, on: connection, tally: &tally, duplicateReason: duplicateReason)
            }
            // The indexes are built once the rows are in (a sort each, many times faster than a million inserts),
            // under their final names once the old partition is gone. The swap: dropping the old partition locks the
            // whole table until the commit, a moment from here.
            let indexes = [
                ("pkey", "PRIMARY KEY (id)"), ("pending", "(id) WHERE state = 0"), ("owned", "(owner) WHERE owner IS NOT NULL"),
                ("finished", "(id) WHERE state <> 0"),
            ]
            var statements = indexes.map { name, definition in
                name == "pkey"
                    ? "ALTER TABLE \(loadingPartition) ADD CONSTRAINT \(loadingPartition)_pkey \(definition)"
                    : "CREATE INDEX \(loadingPartition)_\(name) ON \(loadingPartition) \(definition)"
            }
            statements += ["DROP TABLE IF EXISTS \(workPartition)", "ALTER TABLE \(loadingPartition) RENAME TO \(workPartition)"]
            statements += indexes.map { name, _ in "ALTER INDEX \(loadingPartition)_\(name) RENAME TO \(workPartition)_\(name)" }
            statements.append("ALTER TABLE batch_runner_work ATTACH PARTITION \(workPartition) FOR VALUES IN (\(Self.literal(campaign)))")
            for statement in statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.query(
                """
                UPDATE batch_runner_campaigns SET manifest_sha256 = \(made.manifestSHA256), job = \(made.job),
                    rows = \(Int64(tally.rows)), rejected = \(Int64(tally.rejected)), items = \(Int64(tally.items))
                WHERE campaign = \(campaign)
                """,
                logger: logger
            )
            return made
        }
        // Fresh statistics after a bulk load: without them the planner takes a table of a million rows for an
        // empty one, and a claim's plan scans it whole. Coarse ones do (a tenth of the default sample): the plans
        // only need to know the table is large and which states are rare.
        try await connections.with("gather the campaign's statistics", transaction: .once, timeout: intakeTimeout) { connection in
            try await connection.query("SET LOCAL default_statistics_target = 10", logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "ANALYZE \(workPartition)"), logger: logger)
            try await connection.query("ANALYZE batch_runner_extra_rows", logger: logger)
        }
        return signature
    }

    /// The deadline of an intake's statements: loading and indexing a campaign of millions of rows takes minutes,
    /// so it is `state_timeout` or 10 minutes, whichever is longer.
    var intakeTimeout: Duration { max(connections.timeout, .seconds(600)) }

    /// The advisory lock that puts the partition changes of all campaigns in one line.
    static let partitionLock: Int64 = 7_260_411_912_346

    /// The partition of `batch_runner_work` holding this campaign's items: a name made from the campaign's digest,
    /// so any campaign name makes a valid identifier.
    var workPartition: String { Self.workPartition(of: campaign) }

    static func workPartition(of campaign: String) -> String {
        "batch_runner_work_c" + SHA256.hash(data: Array(campaign.utf8)).hexString.prefix(20)
    }

    /// Where an intake loads the campaign's new items before they replace the partition.
    var loadingPartition: String { workPartition + "_loading" }

    /// `text` as an SQL string literal (DDL takes no parameters); standard_conforming_strings is on since 9.1.
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// Settles rows that may repeat an earlier value: each becomes a new item, shares the first earlier row's
    /// item, or (with `duplicateReason`) is rejected for repeating it.
    private func settle(_ suspects: [IntakeRow], on connection: StateConnection, tally: inout IntakeTally, duplicateReason: DuplicateReason?) async throws {
        let values = Array(Set(suspects.map(\.value)))
        var firsts: [String: Int] = [:]
        // The partition is not attached yet: it is read and written by its own name.
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT value, min(id) FROM \(loadingPartition) WHERE value = ANY($1) GROUP BY value", binds: binds(values)),
            logger: logger
        )
        for (value, first) in try rows.decode((String, Int64).self) { firsts[value] = Int(first) }
        var newItems = CopyText()
        var extras = CopyText()
        var shares: [Int64: Int64] = [:]
        let campaignField = CopyText.field(campaign)
        for row in suspects.sorted(by: { $0.row < $1.row }) {
            guard let first = firsts[row.value], first < row.row else {
                firsts[row.value] = row.row
                tally.accepted += 1
                tally.items += 1
                newItems.append([campaignField, String(row.row), CopyText.field(row.key), CopyText.field(row.value), CopyText.field(row.payload)])
                continue
            }
            if let duplicateReason {
                tally.rejected += 1
                extras.append([campaignField, String(row.row), CopyText.field(row.key), CopyText.field(row.value), CopyText.field(duplicateReason(row.value, first)), CopyText.null])
            } else {
                tally.accepted += 1
                shares[Int64(first), default: 0] += 1
                extras.append([campaignField, String(row.row), CopyText.field(row.key), CopyText.field(row.value), CopyText.null, String(first)])
            }
        }
        if !newItems.isEmpty {
            try await connection.copyFrom(table: loadingPartition, columns: ["campaign", "id", "key", "value", "payload"], logger: logger) { writer in
                try await writer.write(newItems.take())
            }
        }
        if !extras.isEmpty {
            try await connection.copyFrom(table: "batch_runner_extra_rows", columns: ["campaign", "row", "key", "value", "reject_reason", "work_id"], logger: logger) { writer in
                try await writer.write(extras.take())
            }
        }
        if !shares.isEmpty {
            var bindings = PostgresBindings()
            bindings.append(Array(shares.keys))
            bindings.append(Array(shares.values))
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: "UPDATE \(loadingPartition) w SET shared_rows = w.shared_rows + s.n FROM unnest($1::int8[], $2::int8[]) AS s(id, n) WHERE w.id = s.id",
                    binds: bindings
                ),
                logger: logger
            )
        }
    }

    private func binds(_ value: some PostgresNonThrowingEncodable) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(value)
        return bindings
    }
}

/// Rows counted while an intake is read.
private struct IntakeTally {
    var rows = 0
    var rejected = 0
    var accepted = 0
    /// Accepted rows with an item of their own (the others share an earlier row's).
    var items = 0
}

/// Lines in PostgreSQL's `COPY ... FROM STDIN` text format, collected in a buffer.
struct CopyText {
    static let null = "\\N"
    private var buffer = ByteBuffer()

    var isEmpty: Bool { buffer.readableBytes == 0 }
    /// Large enough to send (COPY data travels in chunks; a megabyte keeps the round trips few).
    var isLarge: Bool { buffer.readableBytes >= 1 << 20 }

    /// A text field, escaped; `\N` for nil.
    static func field(_ text: String?) -> String {
        guard let text else { return null }
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) else {
            return text
        }
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count + 8)
        for character in text.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\t": escaped += "\\t"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// Appends one line of already escaped fields.
    mutating func append(_ fields: [String]) {
        for (index, field) in fields.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
            buffer.writeString(field)
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// The lines so far; the buffer starts over.
    mutating func take() -> ByteBuffer {
        defer { buffer = ByteBuffer() }
        return buffer
    }
}
