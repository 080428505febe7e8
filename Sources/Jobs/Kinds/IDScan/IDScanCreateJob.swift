import Crypto
import Foundation
import NIOHTTP1

/// `idscan-create`: one ID Scan transaction per customer row, recording its id, URL and expiry.
///
/// Creating a transaction is not idempotent. Each row is marked `sending` in the store, durably, before its request
/// leaves; a run that dies before the answer is committed leaves it `unknown` (never sent again silently), and a
/// request that failed in a way that leaves open whether the service acted on it (no answer, a timeout, 500, 502,
/// 504) ends `unknown` too. `--retry-unknown` sends those rows again. Rate-limit answers, token renewals, 503 and
/// connections that could not be made are retried: the service did not act on them.
package struct IDScanCreateJob: BatchJob {
    package let configuration: JobConfiguration
    var options: JobConfiguration.IDScanOptions { configuration.idscan }

    package init(configuration: JobConfiguration) {
        self.configuration = configuration
    }

    /// The transaction ID Scan created.
    package struct Result: Sendable, Equatable {
        package var transactionID: String
        package var url: String
        package var expires: String
    }

    package var resultColumns: [ResultColumn<Result>] {
        [
            .row, .key, .status,
            .field("transaction_id", \.transactionID), .field("url", \.url), .field("expires", \.expires),
            .attempts, .error,
        ]
    }

    package var unknownAdvice: String {
        "check whether ID Scan created a transaction for this key, then run with --retry-unknown to create it again"
    }

    package var intakeSettings: IntakeSettings {
        IntakeSettings(kind: "idscan-create", [
            "key": configuration.column("key"), "tasks": options.tasks.joined(separator: ","), "locale": options.locale ?? "",
            "mobile_only": options.mobileOnly.map(String.init) ?? "", "expires_in": options.expiresIn.map(String.init) ?? "",
            "return_url": options.returnURL ?? "", "scan_return_url": options.scanReturnURL ?? "",
        ])
    }

    /// A second row with the same key would create a second transaction for the same customer.
    package var duplicateReason: DuplicateReason? {
        { value, firstRow in "key \(value) repeats row \(firstRow); one transaction per customer is created, so make the keys unique" }
    }

    package func rowReader(header: ManifestHeader) throws -> RowReader {
        let keyIndex = try header.index(of: configuration.column("key"), role: "key")
        let options = self.options
        return RowReader(keyColumn: keyIndex) { row, cells in
            let key = (cells[keyIndex] ?? "").trimmingSpaces()
            guard !key.isEmpty else {
                return IntakeRow(row: row, key: key, value: key, rejectReason: "key is empty; every customer row needs a key")
            }
            var body: [String: Any] = ["tasks": options.tasks]
            if let locale = options.locale { body["locale"] = locale }
            if let mobileOnly = options.mobileOnly { body["mobileOnly"] = mobileOnly }
            if let expiresIn = options.expiresIn { body["expiresIn"] = expiresIn }
            if let url = options.returnURL { body["returnUrl"] = Self.fill(url, key: key) }
            if let url = options.scanReturnURL { body["scanReturnUrl"] = Self.fill(url, key: key) }
            let payload = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) }
            return IntakeRow(row: row, key: key, value: key, payload: payload)
        }
    }

    package func makeTokenProvider(_ context: TokenContext) -> TokenProvider? {
        IDScanToken.provider(credentials: context.credentials, serverClock: context.serverClock, clock: context.clock)
    }

    package func perform(_ item: WorkItem, context: RowContext) async throws -> RowOutcome<Result> {
        var request = APIRequest(
            method: .POST,
            url: configuration.endpoints.base + "/transactions",
            headers: [
                ("Content-Type", "application/json"), ("Accept", "application/json"),
                ("Idempotency-Key", idempotencyKey(for: item.value)),
            ],
            body: Array((item.payload ?? "{}").utf8),
            label: "POST /transactions",
            isIdempotent: false
        )
        request.beforeFirstSend = { try await context.markSending() }
        let answer = try await context.send(request)
        guard answer.isSuccess else {
            return .failed("ID Scan refused to create the transaction (\(GatewayAnswer.describe(status: answer.status, body: answer.body)))")
        }
        guard let created = TransactionAnswer(body: answer.body) else {
            return .unknown("ID Scan answered HTTP \(answer.status) without a transaction id, so a transaction may exist; check the ID Scan portal before running with --retry-unknown")
        }
        return .succeeded(
            Result(transactionID: created.id, url: created.url, expires: created.expires),
            note: created.wrongType.map { "the answer is not the documented JSON (\($0.description)); that field is left blank" }
        )
    }

    /// An `Idempotency-Key` for the row: the same for every send of this key from this job file, and not the key
    /// itself. ID Scan does not document one; a service or proxy that honours it can deduplicate, and the sandbox
    /// counts creations by it.
    func idempotencyKey(for key: String) -> String {
        String(SHA256.hash(data: Data((configuration.jobFile + "\n" + key).utf8)).hexString.prefix(32))
    }

    /// `url` with `{key}` replaced by the percent-encoded key.
    static func fill(_ url: String, key: String) -> String {
        let encoded = key.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+#?/"))) ?? ""
        return url.replacingOccurrences(of: "{key}", with: encoded)
    }
}
