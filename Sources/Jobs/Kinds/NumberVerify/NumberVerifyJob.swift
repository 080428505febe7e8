import Foundation
import NIOHTTP1

/// `number-verify`: one Number Verify insight lookup per distinct normalised number, recording the operator and
/// region, and with the `device_match` scope the device match found by polling within `poll_timeout`.
package struct NumberVerifyJob: BatchJob {
    package let configuration: JobConfiguration

    package init(configuration: JobConfiguration) {
        self.configuration = configuration
    }

    /// What a lookup found.
    package struct Result: Sendable, Equatable {
        package var operatorName: String
        package var regionCode: String
        package var mcc: String
        package var mnc: String
        /// `AVAILABLE`, `UNAVAILABLE` or `pending`; blank without the `device_match` scope.
        package var deviceMatch: String
    }

    package var resultColumns: [ResultColumn<Result>] {
        [
            .row, .key, .value("msisdn"), .status,
            .field("operator_name", \.operatorName), .field("region_code", \.regionCode), .field("mcc", \.mcc),
            .field("mnc", \.mnc), .field("device_match", \.deviceMatch),
            .attempts, .error,
        ]
    }

    package var intakeSettings: IntakeSettings {
        IntakeSettings(kind: "number-verify", ["msisdn": configuration.column("msisdn"), "key": configuration.columns["key"] ?? ""])
    }

    package func rowReader(header: ManifestHeader) throws -> RowReader {
        let msisdnIndex = try header.index(of: configuration.column("msisdn"), role: "msisdn")
        let keyIndex = try configuration.columns["key"].map { (name) throws(ManifestError) in try header.index(of: name, role: "key") }
        return RowReader(keyColumn: keyIndex) { row, cells in
            let key = keyIndex.flatMap { cells[$0] }
            let raw = cells[msisdnIndex] ?? ""
            switch MSISDN.normalise(raw) {
            case .success(let msisdn):
                return IntakeRow(row: row, key: key, value: msisdn)
            case .failure(let problem):
                return IntakeRow(row: row, key: key, value: raw, rejectReason: "msisdn \(problem)")
            }
        }
    }

    package func makeTokenProvider(_ context: TokenContext) -> TokenProvider? {
        GatewayToken.provider(url: configuration.endpoints.token, context: context, scopes: configuration.numberVerify.scopes)
    }

    package func perform(_ item: WorkItem, context: RowContext) async throws -> RowOutcome<Result> {
        let request = APIRequest(
            method: .POST,
            url: configuration.endpoints.base + "/insights/" + item.value,
            headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
            body: Array("{}".utf8),
            label: "POST /insights/{msisdn}"
        )
        let answer = try await context.send(request)
        guard answer.isSuccess else {
            if answer.status == 404 {
                // Number Verify's own error body says the number is unknown: an answer. A bare 404 (a wrong URL,
                // a gateway's page) is not one.
                return Self.isUnknownNumberAnswer(answer.body)
                    ? .notFound : .failed("Number Verify answered HTTP 404 without its error body; check endpoints.base (\(GatewayAnswer.describe(status: 404, body: answer.body)))")
            }
            return .failed("Number Verify rejected the lookup (\(GatewayAnswer.describe(status: answer.status, body: answer.body)))")
        }
        let insight: InsightAnswer
        do {
            insight = try InsightAnswer(body: answer.body)
        } catch {
            return .failed(Self.describe(error, status: answer.status, of: "insights"))
        }
        var deviceMatch = ""
        if configuration.numberVerify.pollsDeviceMatch, let polling = insight.polling {
            do {
                deviceMatch = try await poll(polling, context: context)
            } catch let error as InsightAnswer.Problem {
                return .failed(Self.describe(error, status: 200, of: "polling"))
            }
        }
        return .succeeded(
            Result(operatorName: insight.operatorName, regionCode: insight.regionCode, mcc: insight.mcc, mnc: insight.mnc, deviceMatch: deviceMatch)
        )
    }

    /// Whether a 404's body is Number Verify's error body for an unknown number: `{"error_code": 404, ...}`
    /// (the code as a number or as text).
    static func isUnknownNumberAnswer(_ body: [UInt8]) -> Bool {
        guard let answer = JSONValue(parsing: body) else { return false }
        switch answer["error_code"] {
        case .number("404")?, .string("404")?: return true
        default: return false
        }
    }

    /// The message a row fails with when an answer is not the documented JSON.
    private static func describe(_ problem: InsightAnswer.Problem, status: Int, of answer: String) -> String {
        switch problem {
        case .notTheDocumentedJSON: "Number Verify answered HTTP \(status) with a body that is not the documented \(answer) JSON"
        case .wrongType(let shape): "Number Verify answered HTTP \(status) with a body that is not the documented \(answer) JSON: \(shape.description)"
        }
    }

    /// Polls the device match until it is known or `poll_timeout` passes (`pending`).
    ///
    /// - Throws: ``InsightAnswer/Problem`` when a polling answer is not the documented JSON (the row fails).
    private func poll(_ polling: InsightAnswer.Polling, context: RowContext) async throws -> String {
        let clock = context.clock
        let deadline = clock.now.advanced(by: configuration.numberVerify.pollTimeout)
        let request: APIRequest
        switch polling {
        case .uri(let uri):
            request = APIRequest(method: .GET, url: configuration.endpoints.base + "/polling", headers: [("polling_uri", uri), ("Accept", "application/json")], label: "GET /polling")
        case .id(let id):
            request = APIRequest(method: .GET, url: configuration.endpoints.base + "/polling/" + id, headers: [("Accept", "application/json")], label: "GET /polling/{id}")
        }
        while true {
            let answer = try await context.send(request, countsAttempts: false)
            if answer.isSuccess, let match = try PollingAnswer.deviceMatch(in: answer.body) { return match }
            let next = clock.now.advanced(by: configuration.numberVerify.pollInterval)
            if next >= deadline { return "pending" }
            try await clock.sleep(until: next)
        }
    }
}
