import Crypto
import Foundation
import NIOHTTP1

/// `idscan-reports`: the compliance export. For each (transaction, result) pair it saves the audit report(s) as
/// `reports/<transaction>_<result>_<simple|extended>.pdf`, optionally the result's fields and document images,
/// and at every exit `reports/SHA256SUMS` and `reports/provenance.csv` for the auditor.
package struct IDScanReportsJob: BatchJob {
    package let configuration: JobConfiguration
    var options: JobConfiguration.IDScanOptions { configuration.idscan }

    package init(configuration: JobConfiguration) {
        self.configuration = configuration
    }

    /// The reports saved for one (transaction, result) pair; several are joined with `;`.
    package struct Result: Sendable, Equatable {
        package var reportType: String
        package var file: String
        package var sha256: String
        package var bytes: String
        /// The `idscan.result_fields` values by name.
        package var fields: [String: String]
    }

    package var resultColumns: [ResultColumn<Result>] {
        let ids: [ResultColumn<Result>] = [
            ResultColumn("transaction_id", .row { IDScanID.pair($0.value).transaction }),
            ResultColumn("result_id", .row { IDScanID.pair($0.value).result }),
        ]
        let reports: [ResultColumn<Result>] = [
            .field("report_type", \.reportType), .field("file", \.file), .field("sha256", \.sha256), .field("bytes", \.bytes),
        ]
        let fields = options.resultFields.map { name in ResultColumn<Result>.field(name) { $0.fields[name] ?? "" } }
        return [.row] + ids + [.status] + reports + [.attempts, .error] + fields
    }

    /// The report choice and fields shape every row of the export, so changing them needs `--restart`.
    package var intakeSettings: IntakeSettings {
        IntakeSettings(kind: "idscan-reports", [
            "transaction_id": configuration.column("transaction_id"), "result_id": configuration.column("result_id"),
            "report": options.report.rawValue, "fallback": "\(options.fallbackToSimple)",
            "fields": options.resultFields.joined(separator: ","), "images": "\(options.images)",
        ])
    }

    package var fileFolders: [String] { ["reports", "images"] }

    package func rowReader(header: ManifestHeader) throws -> RowReader {
        let transactionColumn = configuration.column("transaction_id")
        let resultColumn = configuration.column("result_id")
        let transactionIndex = try header.index(of: transactionColumn, role: "transaction_id")
        let resultIndex = try header.index(of: resultColumn, role: "result_id")
        return RowReader { row, cells in
            let transaction = (cells[transactionIndex] ?? "").trimmingSpaces()
            let result = (cells[resultIndex] ?? "").trimmingSpaces()
            if let problem = IDScanID.problem(transaction, column: transactionColumn) {
                return IntakeRow(row: row, key: nil, value: transaction, rejectReason: problem)
            }
            if let problem = IDScanID.problem(result, column: resultColumn) {
                return IntakeRow(row: row, key: nil, value: result, rejectReason: problem)
            }
            return IntakeRow(row: row, key: nil, value: IDScanID.pairValue(transaction: transaction, result: result))
        }
    }

    package func makeTokenProvider(_ context: TokenContext) -> TokenProvider? {
        IDScanToken.provider(credentials: context.credentials, serverClock: context.serverClock, clock: context.clock)
    }

    package func perform(_ item: WorkItem, context: RowContext) async throws -> RowOutcome<Result> {
        var export = ReportExport(job: self, item: item, context: context)
        return try await export.run()
    }

    package func writeOutputs(store: any CheckpointStore, outputFolder: String, formulas: CSVFormulas) async throws {
        try await ExportLedger(outputFolder: outputFolder, folders: fileFolders, formulas: formulas).write(from: store)
    }
}

/// The requests and files of one export row.
private struct ReportExport {
    let job: IDScanReportsJob
    let item: WorkItem
    let context: RowContext
    let transaction: String
    let result: String
    /// Files fetched and checked, written only once the whole row succeeded.
    var downloads: [(file: SavedFile, bytes: [UInt8])] = []
    var notes: [String] = []

    init(job: IDScanReportsJob, item: WorkItem, context: RowContext) {
        self.job = job
        self.item = item
        self.context = context
        (transaction, result) = IDScanID.pair(item.value)
    }

    var resultPath: String { "/transactions/\(transaction)/results/\(result)" }

    mutating func run() async throws -> RowOutcome<IDScanReportsJob.Result> {
        var fields: [String: String] = [:]
        if !job.options.resultFields.isEmpty || job.options.images {
            let answer = try await get(resultPath, label: "GET /transactions/{id}/results/{id}")
            guard answer.isSuccess else { return .failed("ID Scan did not give the result (\(GatewayAnswer.describe(status: answer.status, body: answer.body)))") }
            let parsed: IDScanResult
            do {
                parsed = try IDScanResult(body: answer.body)
            } catch .notTheDocumentedJSON {
                return .failed("ID Scan answered HTTP \(answer.status) with a body that is not the documented result JSON")
            } catch .wrongType(let shape) {
                return .failed("ID Scan answered HTTP \(answer.status) with a body that is not the documented result JSON: \(shape.description)")
            }
            for name in job.options.resultFields { fields[name] = parsed.values[name] ?? "" }
            if job.options.images, let problem = try await fetchImages(parsed.files) { return .failed(problem) }
        }
        if let problem = try await fetchReports() { return .failed(problem) }

        for download in downloads {
            try AtomicFile.write(path: job.configuration.output + "/" + download.file.path, bytes: download.bytes)
        }
        let reports = downloads.filter { $0.file.kind != "image" }.sorted { $0.file.kind > $1.file.kind }
        let saved = IDScanReportsJob.Result(
            reportType: reports.map(\.file.kind).joined(separator: ";"), file: reports.map(\.file.path).joined(separator: ";"),
            sha256: reports.map(\.file.sha256).joined(separator: ";"), bytes: reports.map { String($0.file.bytes) }.joined(separator: ";"),
            fields: fields
        )
        return .succeeded(saved, note: notes.isEmpty ? nil : notes.joined(separator: "; "), files: downloads.map(\.file))
    }

    /// Fetches the reports the job asks for; answers why the row fails, or nil.
    private mutating func fetchReports() async throws -> String? {
        let options = job.options
        if options.report == .simple { return try await fetchReport(.simple) }
        let extended = try await get(resultPath + "/report?type=extended", label: "GET /transactions/{id}/results/{id}/report?type=extended")
        if extended.isSuccess {
            if let problem = keepReport(extended, type: .extended) { return problem }
        } else if [404, 409, 410].contains(extended.status) {
            let gone = "the extended report is no longer available (\(GatewayAnswer.describe(status: extended.status, body: extended.body)))"
            if options.report == .extended, !options.fallbackToSimple {
                return "\(gone); the transaction has expired. Set idscan.fallback_to_simple: true to save the simple report instead"
            }
            notes.append(options.report == .both ? "\(gone); only the simple report was saved" : "\(gone); the simple report was saved instead")
            return try await fetchReport(.simple)
        } else {
            return "ID Scan did not give the extended report (\(GatewayAnswer.describe(status: extended.status, body: extended.body)))"
        }
        return options.report == .both ? try await fetchReport(.simple) : nil
    }

    private mutating func fetchReport(_ type: JobConfiguration.IDScanOptions.Report) async throws -> String? {
        let answer = try await get(resultPath + "/report", label: "GET /transactions/{id}/results/{id}/report")
        guard answer.isSuccess else {
            return "ID Scan did not give the \(type.rawValue) report (\(GatewayAnswer.describe(status: answer.status, body: answer.body)))"
        }
        return keepReport(answer, type: type)
    }

    private mutating func keepReport(_ answer: APIAnswer, type: JobConfiguration.IDScanOptions.Report) -> String? {
        let contentType = answer.headers.first(name: "content-type")
        if let problem = DownloadCheck.pdfProblem(body: answer.body, contentType: contentType) {
            return "the \(type.rawValue) report is not a complete PDF: \(problem); run again with --retry-failed to fetch it again"
        }
        keep(answer, path: "reports/\(transaction)_\(result)_\(type.rawValue).pdf", kind: type.rawValue, contentType: contentType ?? "")
        return nil
    }

    /// Downloads the result's document images from the API's own host (the token is never sent elsewhere).
    private mutating func fetchImages(_ files: [IDScanResult.File]) async throws -> String? {
        let base = URLComponents(string: job.configuration.endpoints.base)
        for (index, file) in files.enumerated() {
            guard let components = URLComponents(string: file.url), let base,
                components.scheme?.lowercased() == base.scheme?.lowercased(),
                components.host?.lowercased() == base.host?.lowercased(), components.port == base.port
            else {
                notes.append("image \(index + 1) not downloaded: its URL is not on the endpoints.base host, and the token is only sent there")
                continue
            }
            let answer = try await context.send(APIRequest(method: .GET, url: file.url, headers: [("Accept", "image/*")], label: "GET document image"))
            guard answer.isSuccess else {
                return "ID Scan did not give document image \(index + 1) (\(GatewayAnswer.describe(status: answer.status, body: answer.body)))"
            }
            let contentType = answer.headers.first(name: "content-type")
            guard let fileExtension = DownloadCheck.imageExtension(contentType: contentType) else {
                return "document image \(index + 1) came as \(contentType.map { "`\($0.prefix(60))`" } ?? "untyped"), not an image"
            }
            let name = SafeFileName.make(file.type).map { "_" + $0 } ?? ""
            keep(answer, path: "images/\(transaction)_\(result)_\(index + 1)\(name).\(fileExtension)", kind: "image", contentType: contentType ?? "")
        }
        return nil
    }

    private mutating func keep(_ answer: APIAnswer, path: String, kind: String, contentType: String) {
        let file = SavedFile(
            path: path, kind: kind, sha256: SHA256.hash(data: answer.body).hexString, bytes: answer.body.count,
            requestedAt: answer.requestedAt, apiPath: Self.apiPath(answer.url), httpStatus: answer.status,
            apiVersion: answer.headers.first(name: "api-version") ?? "", contentType: contentType
        )
        downloads.append((file, answer.body))
    }

    private func get(_ path: String, label: String) async throws -> APIAnswer {
        let accept = path.contains("/report") ? "application/pdf" : "application/json"
        return try await context.send(APIRequest(method: .GET, url: job.configuration.endpoints.base + path, headers: [("Accept", accept)], label: label))
    }

    /// `GET /id-scan/v1/...?type=extended`: the request line without scheme, host or credentials.
    static func apiPath(_ url: String) -> String {
        guard let components = URLComponents(string: url) else { return "GET" }
        return "GET " + components.percentEncodedPath + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
    }
}
