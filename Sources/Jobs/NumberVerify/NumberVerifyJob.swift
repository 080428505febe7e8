import Foundation
import NIOHTTP1

/// `number-verify`: one Number Verify insight lookup per distinct normalised number, recording the operator and
/// region, and with the `device_match` scope the device match found by polling within `poll_timeout`.
package struct NumberVerifyJob: BatchJob {
    package let configuration: JobConfiguration

    package init(configuration: JobConfiguration) {
        self.configuration = configuration
    }

    package var resultHeader: [String] {
        ["row", "key", "msisdn", "status", "operator_name", "region_code", "mcc", "mnc", "device_match", "attempts", "error"]
    }

    package var intakeSettings: String {
        "number-verify;msisdn=\(configuration.column("msisdn"));key=\(configuration.columns["key"] ?? "")"
    }

    package func rowReader(header: ManifestHeader) throws(JobError) -> RowReader {
        let msisdnIndex = try header.index(of: configuration.column("msisdn"), role: "msisdn")
        let keyIndex = try configuration.columns["key"].map { (name) throws(JobError) in try header.index(of: name, role: "key") }
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

    package func makeTokenProvider(transport: HTTPTransport, credentials: ClientCredentials, wallClock: WallClock) -> TokenProvider? {
        guard let url = configuration.endpoints.token else { return nil }
        let form = [
            ("client_id", credentials.id), ("client_secret", credentials.secret),
            ("scopes", configuration.numberVerify.scopes.joined(separator: ",")),
        ]
        let retry = configuration.retry
        return TokenProvider { try await GatewayToken.mint(url: url, form: form, transport: transport, retry: retry) }
    }

    package func perform(_ item: WorkItem, client: APIClient, journal: SendJournal) async throws -> WorkCompletion {
        let request = APIRequest(
            method: .POST,
            url: configuration.endpoints.base + "/insights/" + item.value,
            headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
            body: Array("{}".utf8),
            label: "POST /insights/{msisdn}"
        )
        var attempts = 0
        do {
            let answer = try await client.send(request)
            attempts = answer.attempts
            guard answer.isSuccess else {
                let error = answer.status == 404
                    ? "number not known to Number Verify (HTTP 404)"
                    : "Number Verify rejected the lookup (\(GatewayAnswer.describe(status: answer.status, body: answer.body)))"
                return WorkCompletion(id: item.id, state: .failed, attempts: attempts, result: [], error: error)
            }
            guard let insight = InsightAnswer(body: answer.body) else {
                return WorkCompletion(id: item.id, state: .failed, attempts: attempts, result: [], error: "Number Verify answered HTTP \(answer.status) with a body that is not the documented insights JSON")
            }
            var deviceMatch = ""
            if configuration.numberVerify.pollsDeviceMatch, let polling = insight.polling {
                deviceMatch = try await poll(polling, client: client)
            }
            let result = [insight.operatorName, insight.regionCode, insight.mcc, insight.mnc, deviceMatch]
            return WorkCompletion(id: item.id, state: .succeeded, attempts: attempts, result: result, error: nil)
        } catch let failure as RequestFailure {
            return WorkCompletion(id: item.id, state: .failed, attempts: failure.attempts, result: [], error: failure.message)
        }
    }

    /// Polls the device match until it is known or `poll_timeout` passes (`pending`).
    private func poll(_ polling: InsightAnswer.Polling, client: APIClient) async throws -> String {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: configuration.numberVerify.pollTimeout)
        let request: APIRequest
        switch polling {
        case .uri(let uri):
            request = APIRequest(method: .GET, url: configuration.endpoints.base + "/polling", headers: [("polling_uri", uri), ("Accept", "application/json")], label: "GET /polling")
        case .id(let id):
            request = APIRequest(method: .GET, url: configuration.endpoints.base + "/polling/" + id, headers: [("Accept", "application/json")], label: "GET /polling/{id}")
        }
        while true {
            let answer = try await client.send(request)
            if answer.isSuccess, let match = PollingAnswer.deviceMatch(in: answer.body) { return match }
            let next = clock.now.advanced(by: configuration.numberVerify.pollInterval)
            if next >= deadline { return "pending" }
            try await clock.sleep(until: next)
        }
    }

    package func resultFields(of row: FinishedRow) -> [String] {
        let result = row.result + Array(repeating: "", count: max(0, 5 - row.result.count))
        let status = row.state == .succeeded ? "ok" : "failed"
        return [String(row.row), row.key ?? "", row.value, status] + result.prefix(5) + [String(row.attempts), row.error ?? ""]
    }
}
