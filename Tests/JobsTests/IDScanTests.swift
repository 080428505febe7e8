import Foundation
import Testing

@testable import Jobs

// MARK: - IDs

@Suite struct IDScanIDTests {
    @Test(arguments: [
        "3b438437-04a4-40bb-8389-54bb02766fba", "3B438437-04A4-40BB-8389-54BB02766FBA", "a", "7", "tx1.v2-final",
        "a..b", String(repeating: "a", count: 100),
    ])
    func safeIDsAreAccepted(id: String) {
        #expect(IDScanID.isSafe(id))
        #expect(IDScanID.problem(id, column: "transaction_id") == nil)
    }

    @Test(arguments: [
        "..", ".", "../x", "x/..", "a/b", "a\\b", ".hidden", "-x", "_x", "a?b", "a#b", "a%2F", "a%2e%2e", "a b", "a:b",
        "a_b", "é", "ae\u{301}", "a\u{0}b", "a\nb", String(repeating: "a", count: 101),
    ])
    func hostileIDsAreRefusedNamingTheColumn(id: String) throws {
        #expect(!IDScanID.isSafe(id))
        let problem = try #require(IDScanID.problem(id, column: "result_id"))
        #expect(problem.hasPrefix("result_id is not an ID Scan ID"), "\(problem)")
    }

    @Test func anEmptyIDSaysItIsEmpty() throws {
        #expect(!IDScanID.isSafe(""))
        let problem = try #require(IDScanID.problem("", column: "tx"))
        #expect(problem.hasPrefix("tx is empty"), "\(problem)")
    }

    @Test func theLengthLimitCountsBytes() {
        #expect(IDScanID.maximumLength == 100)
        #expect(IDScanID.isSafe("a" + String(repeating: "0", count: 99)))
        #expect(!IDScanID.isSafe("a" + String(repeating: "0", count: 100)))
        #expect(!IDScanID.isSafe(String(repeating: "a", count: 10_000)))
    }
}

// MARK: - Downloads

@Suite struct DownloadCheckTests {
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    let pdf = "%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF"

    @Test(arguments: ["", "\n", "\r\n", "\r", "  \n", "\n\n"])
    func aCompletePDFPasses(trailer: String) {
        #expect(DownloadCheck.pdfProblem(body: bytes(pdf + trailer), contentType: "application/pdf") == nil)
    }

    @Test(arguments: ["application/pdf; charset=binary", "application/pdf;name=report.pdf", "Application/PDF"])
    func contentTypeParametersAndCaseAreAccepted(contentType: String) {
        #expect(DownloadCheck.pdfProblem(body: bytes(pdf + "\n"), contentType: contentType) == nil)
    }

    @Test func aBodyWithoutTheHeaderFails() throws {
        let problem = try #require(DownloadCheck.pdfProblem(body: bytes("<html>error</html>\n%%EOF\n"), contentType: "application/pdf"))
        #expect(problem.contains("%PDF-"), "\(problem)")
        #expect(DownloadCheck.pdfProblem(body: [], contentType: "application/pdf") != nil)
    }

    @Test func aTruncatedPDFFails() throws {
        let truncated = String(pdf.prefix(pdf.count - 10))
        let problem = try #require(DownloadCheck.pdfProblem(body: bytes(truncated), contentType: "application/pdf"))
        #expect(problem.contains("incomplete"), "\(problem)")
        #expect(problem.contains("\(truncated.utf8.count) bytes"), "\(problem)")
        // %%EOF followed by more content (an incremental update cut short) is not complete either.
        #expect(DownloadCheck.pdfProblem(body: bytes(pdf + "\n2 0 obj"), contentType: "application/pdf") != nil)
        // Only the header, its own trailer-looking bytes do not count.
        #expect(DownloadCheck.pdfProblem(body: bytes("%PDF-"), contentType: "application/pdf") != nil)
    }

    @Test func aWrongContentTypeFailsEvenWithPDFBytes() throws {
        let html = try #require(DownloadCheck.pdfProblem(body: bytes(pdf), contentType: "text/html; charset=utf-8"))
        #expect(html.contains("text/html"), "\(html)")
        #expect(html.contains("not application/pdf"), "\(html)")
        let untyped = try #require(DownloadCheck.pdfProblem(body: bytes(pdf), contentType: nil))
        #expect(untyped.contains("untyped"), "\(untyped)")
        #expect(DownloadCheck.pdfProblem(body: bytes(pdf), contentType: "application/json") != nil)
    }

    @Test func aLongContentTypeIsShortenedInTheMessage() throws {
        let long = "text/" + String(repeating: "x", count: 500)
        let problem = try #require(DownloadCheck.pdfProblem(body: bytes(pdf), contentType: long))
        #expect(problem.count < 200, "\(problem)")
    }

    @Test(arguments: [
        ("image/jpeg", "jpg"), ("image/jpg", "jpg"), ("IMAGE/JPEG; charset=binary", "jpg"), ("image/png", "png"),
        (" image/png ;q=1", "png"), ("image/gif", "gif"), ("image/webp", "webp"), ("image/tiff", "tif"),
        ("image/svg+xml", "img"), ("image/x-unknown", "img"),
    ])
    func imageExtensions(contentType: String, expected: String) {
        #expect(DownloadCheck.imageExtension(contentType: contentType) == expected)
    }

    @Test(arguments: [nil, "", "application/pdf", "text/html", "application/octet-stream", "imagex/png"] as [String?])
    func nonImagesHaveNoExtension(contentType: String?) {
        #expect(DownloadCheck.imageExtension(contentType: contentType) == nil)
    }
}

// MARK: - Result JSON

@Suite struct IDScanResultTests {
    func parse(_ json: String) -> IDScanResult? { try? IDScanResult(body: Array(json.utf8)) }

    let json = """
        {
          "id": "r1",
          "tasks": [
            {
              "type": "document_scan",
              "result": [
                {"field": "document_number", "values": [{"source": "VISUAL", "value": "V123"}, {"source": "MRZ", "value": "M123"}]},
                {"field": "surname", "values": [{"source": "visual", "value": "Jansen"}]},
                {"field": "age", "values": [{"source": "visual", "value": 42}]},
                {"field": "height", "values": [{"source": "visual", "value": 1.75}]},
                {"field": "expired", "values": [{"source": "visual", "value": false}]},
                {"field": "chip", "values": [{"source": "nfc", "value": "C1"}, {"source": "barcode", "value": "B1"}]},
                {"field": "empty", "values": []},
                {"field": "nothing", "values": [{"source": "visual", "value": null}]},
                {"values": [{"source": "visual", "value": "no field name"}]}
              ],
              "files": [
                {"category": "document", "type": "front", "url": "https://api.cm.com/id-scan/v1/files/f1"},
                {"category": "document", "type": "back", "url": "https://api.cm.com/id-scan/v1/files/f2"},
                {"category": "document", "type": "broken"}
              ]
            },
            {
              "type": "face_liveness",
              "result": [
                {"field": "surname", "values": [{"source": "mrz", "value": "Later"}]},
                {"field": "liveness_score", "values": [{"source": "visual", "value": "0.98"}]}
              ],
              "files": [{"url": "https://api.cm.com/id-scan/v1/files/selfie"}]
            }
          ]
        }
        """

    @Test func mrzIsPreferredOverVisual() throws {
        let result = try #require(parse(json))
        #expect(result.values["document_number"] == "M123")
    }

    @Test func visualIsTheFallbackThenTheFirstValue() throws {
        let result = try #require(parse(json))
        #expect(result.values["surname"] == "Jansen")  // the first task's field wins over a later task's mrz
        #expect(result.values["chip"] == "C1")
        #expect(result.values["liveness_score"] == "0.98")
        #expect(result.values["empty"] == nil)
        #expect(result.values["nothing"] == nil)
    }

    @Test func numbersAreStringified() throws {
        let result = try #require(parse(json))
        #expect(result.values["age"] == "42")
        #expect(result.values["height"] == "1.75")
    }

    @Test func booleansAreStringifiedAsWords() throws {
        let result = try #require(parse(json))
        #expect(result.values["expired"] == "false")
    }

    @Test func filesOfEveryTaskAreListedInOrder() throws {
        let result = try #require(parse(json))
        #expect(
            result.files == [
                .init(category: "document", type: "front", url: "https://api.cm.com/id-scan/v1/files/f1"),
                .init(category: "document", type: "back", url: "https://api.cm.com/id-scan/v1/files/f2"),
                .init(category: "", type: "", url: "https://api.cm.com/id-scan/v1/files/selfie"),
            ]
        )
    }

    @Test(arguments: ["", "not json", "<html></html>", "[]", "{}", "{\"tasks\": \"x\"}", "{\"tasks\": [1, 2]}", "null"])
    func anAnswerThatIsNotTheResultJSONIsNil(body: String) {
        #expect(parse(body) == nil)
    }

    /// A field that is there must have its documented type: the row fails naming it, never exports blanks.
    @Test(arguments: [
        (#"{"tasks": [1]}"#, "tasks[0]", "a number", "an object"),
        (#"{"tasks": [{"files": "none"}]}"#, "tasks[0].files", "text", "a list"),
        (#"{"tasks": [{"files": [{"url": 7}]}]}"#, "tasks[0].files[0].url", "a number", "text"),
        (#"{"tasks": [{"result": [{"field": "surname", "values": [{"value": {"x": 1}}]}]}]}"#, "tasks[0].result[0].values[0].value", "an object", "text, a number or true/false"),
        (#"{"tasks": [{}, {"result": [{"field": ["surname"]}]}]}"#, "tasks[1].result[0].field", "a list", "text"),
        (#"{"tasks": [{"result": [{"field": "surname", "values": [{"source": false, "value": "x"}]}]}]}"#, "tasks[0].result[0].values[0].source", "true or false", "text"),
    ])
    func aFieldOfTheWrongTypeNamesItself(json: String, field: String, found: String, expected: String) {
        #expect(throws: IDScanResult.Problem.wrongType(AnswerShapeError(field: field, found: found, expected: expected))) {
            try IDScanResult(body: Array(json.utf8))
        }
    }

    @Test func aResultWithoutFieldsOrFilesIsEmpty() throws {
        let result = try #require(parse("{\"tasks\": []}"))
        #expect(result.values.isEmpty)
        #expect(result.files.isEmpty)
    }
}

// MARK: - idscan-reports rows

@Suite struct IDScanReportsRowTests {
    let uuid1 = "3b438437-04a4-40bb-8389-54bb02766fba"
    let uuid2 = "9f1c2d3e-0000-4abc-8def-1234567890ab"

    func job(_ extra: String = "") throws -> IDScanReportsJob {
        IDScanReportsJob(configuration: try JobFile.parse("kind: idscan-reports\nmanifest: pairs.csv\n" + extra, path: "/tmp/x/job.yml"))
    }

    func reader(_ job: IDScanReportsJob, header: [String]) throws -> RowReader {
        try job.rowReader(header: ManifestHeader(names: header, manifestPath: "pairs.csv"))
    }

    @Test func anAcceptedRowIsTheIDPair() throws {
        let reader = try reader(try job(), header: ["customer", "transaction_id", "result_id"])
        let row = reader.read(4, ManifestCells(values: ["C1", uuid1, " \(uuid2) "]))
        #expect(row == IntakeRow(row: 4, key: nil, value: "\(uuid1)/\(uuid2)"))
        #expect(row.rejectReason == nil)
    }

    @Test(arguments: ["../x", "a/b", "..", ".hidden", "a?b", "a%2F", "", String(repeating: "a", count: 101)])
    func aHostileTransactionIDIsRejectedNamingItsColumn(id: String) throws {
        let reader = try reader(try job(), header: ["transaction_id", "result_id"])
        let row = reader.read(2, ManifestCells(values: [id, uuid2]))
        #expect(row.value == id)
        let reason = try #require(row.rejectReason)
        #expect(reason.hasPrefix("transaction_id "), "\(reason)")
    }

    @Test(arguments: ["../x", "a/b", "-x", "é"])
    func aHostileResultIDIsRejectedNamingItsColumn(id: String) throws {
        let reader = try reader(try job(), header: ["transaction_id", "result_id"])
        let row = reader.read(3, ManifestCells(values: [uuid1, id]))
        #expect(row.value == id)
        let reason = try #require(row.rejectReason)
        #expect(reason.hasPrefix("result_id "), "\(reason)")
    }

    @Test func aShortRowRejectsTheMissingID() throws {
        let reader = try reader(try job(), header: ["transaction_id", "result_id"])
        let row = reader.read(5, ManifestCells(values: [uuid1]))
        let reason = try #require(row.rejectReason)
        #expect(reason.hasPrefix("result_id is empty"), "\(reason)")
    }

    @Test func mappedColumnsAreReadAndNamedInReasons() throws {
        let job = try job("columns: { transaction_id: Transactie, result_id: Resultaat }\n")
        let reader = try reader(job, header: ["Resultaat", "Transactie"])
        #expect(reader.read(1, ManifestCells(values: [uuid2, uuid1])).value == "\(uuid1)/\(uuid2)")
        let bad = reader.read(2, ManifestCells(values: ["a/b", uuid1]))
        #expect(bad.rejectReason?.hasPrefix("Resultaat ") == true, "\(bad.rejectReason ?? "nil")")
        #expect(job.intakeSettings["transaction_id"] == "Transactie" && job.intakeSettings["result_id"] == "Resultaat")
    }

    @Test func aMissingColumnIsAManifestError() throws {
        let job = try job()
        do {
            _ = try reader(job, header: ["transaction_id", "result"])
            Issue.record("expected a manifest error")
        } catch let error as ManifestError {
            #expect(ExitTable.jobError(for: error).code == .manifestUnusable)
            #expect(error.message.contains("`result_id`"), "\(error.message)")
        }
    }

    @Test func theResultHeaderEndsWithTheRequestedFields() throws {
        let job = try job("idscan: { result_fields: [document_number, surname] }\n")
        #expect(
            job.resultHeader == [
                "row", "transaction_id", "result_id", "status", "report_type", "file", "sha256", "bytes", "attempts", "error",
                "document_number", "surname",
            ]
        )
        #expect(try self.job().resultHeader.count == 10)
        #expect(job.duplicateReason == nil)
        #expect(job.fileFolders == ["reports", "images"])
    }

    @Test func anOKRowLaysOutReportThenAttemptsThenFields() throws {
        let job = try job("idscan: { result_fields: [document_number, surname] }\n")
        let row = FinishedRow(
            row: 7, key: nil, value: "t1/r1", state: .succeeded, attempts: 3,
            result: job.storedFields(
                of: .init(
                    reportType: "extended", file: "reports/t1_r1_extended.pdf", sha256: "abc123", bytes: "2048",
                    fields: ["document_number": "M123", "surname": "Jansen"]
                )
            ),
            error: "note"
        )
        let fields = job.makeResultFormatter()(row)
        #expect(
            fields == [
                "7", "t1", "r1", "ok", "extended", "reports/t1_r1_extended.pdf", "abc123", "2048", "3", "note", "M123", "Jansen",
            ]
        )
        #expect(fields.count == job.resultHeader.count)
    }

    @Test func aFailedRowIsPaddedToTheHeader() throws {
        let job = try job("idscan: { result_fields: [document_number, surname] }\n")
        for result in [nil, []] as [[String]?] {
            let row = FinishedRow(row: 2, key: nil, value: "t2/r2", state: .failed, attempts: 6, result: result, error: "HTTP 503")
            let fields = job.makeResultFormatter()(row)
            #expect(fields == ["2", "t2", "r2", "failed", "", "", "", "", "6", "HTTP 503", "", ""])
            #expect(fields.count == job.resultHeader.count)
        }
    }

    @Test func anOKRowWithoutFieldsHasExactlyTheBaseColumns() throws {
        let job = try job("idscan: { report: both }\n")
        let row = FinishedRow(
            row: 1, key: nil, value: "t/r", state: .succeeded, attempts: 2,
            result: ["simple;extended", "reports/t_r_simple.pdf;reports/t_r_extended.pdf", "s1;s2", "10;20"], error: nil
        )
        let fields = job.makeResultFormatter()(row)
        #expect(fields == ["1", "t", "r", "ok", "simple;extended", "reports/t_r_simple.pdf;reports/t_r_extended.pdf", "s1;s2", "10;20", "2", ""])
        #expect(fields.count == job.resultHeader.count)
    }
}

// MARK: - idscan-create rows

@Suite struct IDScanCreateRowTests {
    func job(_ extra: String = "", path: String = "/tmp/x/job.yml") throws -> IDScanCreateJob {
        IDScanCreateJob(configuration: try JobFile.parse("kind: idscan-create\nmanifest: customers.csv\n" + extra, path: path))
    }

    func reader(_ job: IDScanCreateJob, header: [String] = ["key", "name"]) throws -> RowReader {
        try job.rowReader(header: ManifestHeader(names: header, manifestPath: "customers.csv"))
    }

    func payload(_ row: IntakeRow) throws -> [String: Any] {
        let text = try #require(row.payload)
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    let full = """
        idscan:
          tasks: [document_scan, face_liveness]
          locale: fr-FR
          mobile_only: true
          expires_in: 7200
          return_url: "https://shop.example/done?customer={key}&step=2"
          scan_return_url: "https://shop.example/scanned/{key}"

        """

    @Test func theDefaultPayloadHasOnlyTheTasks() throws {
        let row = try reader(try job()).read(1, ManifestCells(values: ["C1", "Anna"]))
        #expect(row.key == "C1")
        #expect(row.value == "C1")
        #expect(row.rejectReason == nil)
        #expect(row.payload == #"{"tasks":["document_scan"]}"#)
    }

    @Test func thePayloadCarriesEveryOption() throws {
        let row = try reader(try job(full)).read(1, ManifestCells(values: ["C1", "Anna"]))
        let body = try payload(row)
        #expect(Set(body.keys) == ["tasks", "locale", "mobileOnly", "expiresIn", "returnUrl", "scanReturnUrl"])
        #expect(body["tasks"] as? [String] == ["document_scan", "face_liveness"])
        #expect(body["locale"] as? String == "fr-FR")
        #expect(body["mobileOnly"] as? Bool == true)
        #expect(body["expiresIn"] as? Int == 7200)
        #expect(body["returnUrl"] as? String == "https://shop.example/done?customer=C1&step=2")
        #expect(body["scanReturnUrl"] as? String == "https://shop.example/scanned/C1")
        // JSON booleans and numbers, not 1 or "7200".
        let text = try #require(row.payload)
        #expect(text.contains(#""mobileOnly":true"#), "\(text)")
        #expect(text.contains(#""expiresIn":7200"#), "\(text)")
    }

    @Test func mobileOnlyFalseIsSent() throws {
        let row = try reader(try job("idscan: { mobile_only: false }\n")).read(1, ManifestCells(values: ["C1"]))
        #expect(try payload(row)["mobileOnly"] as? Bool == false)
        #expect(row.payload?.contains(#""mobileOnly":false"#) == true, "\(row.payload ?? "nil")")
    }

    @Test(arguments: ["a b&c", "x=1&admin=true", "k#frag", "k?x=y", "a/b", "1+1", "%41", "Zoë"])
    func aKeyCannotInjectIntoTheReturnURL(key: String) throws {
        let row = try reader(try job(full)).read(1, ManifestCells(values: [key, ""]))
        let body = try payload(row)
        let returnURL = try #require(body["returnUrl"] as? String)
        let components = try #require(URLComponents(string: returnURL), "\(returnURL)")
        #expect(components.host == "shop.example")
        #expect(components.path == "/done")
        #expect(components.fragment == nil, "\(returnURL)")
        #expect(components.queryItems == [URLQueryItem(name: "customer", value: key), URLQueryItem(name: "step", value: "2")], "\(returnURL)")

        let scanURL = try #require(body["scanReturnUrl"] as? String)
        let scan = try #require(URLComponents(string: scanURL), "\(scanURL)")
        #expect(scan.query == nil, "\(scanURL)")
        #expect(scan.fragment == nil, "\(scanURL)")
        #expect(scan.percentEncodedPath.split(separator: "/").count == 2, "\(scanURL)")
        #expect(scan.path == "/scanned/\(key)", "\(scanURL)")
    }

    @Test func fillEncodesTheKeyEverywhereItAppears() {
        #expect(IDScanCreateJob.fill("https://a.example/{key}?k={key}", key: "a b&c") == "https://a.example/a%20b%26c?k=a%20b%26c")
        #expect(IDScanCreateJob.fill("https://a.example/done", key: "a b") == "https://a.example/done")
    }

    @Test(arguments: ["", "   ", "\t"])
    func anEmptyKeyIsRejected(key: String) throws {
        let row = try reader(try job()).read(3, ManifestCells(values: [key, "Anna"]))
        let reason = try #require(row.rejectReason)
        #expect(reason.contains("key is empty"), "\(reason)")
        #expect(row.payload == nil)
    }

    @Test func aMissingCellIsAnEmptyKey() throws {
        let row = try reader(try job()).read(3, ManifestCells(values: []))
        #expect(row.rejectReason?.contains("key is empty") == true)
    }

    @Test func theMappedKeyColumnIsRead() throws {
        let job = try job("columns: { key: customer_id }\n")
        let row = try reader(job, header: ["name", "customer_id"]).read(1, ManifestCells(values: ["Anna", " C9 "]))
        #expect(row.key == "C9")
        #expect(row.value == "C9")
        #expect(throws: ManifestError.self) { try reader(job, header: ["name", "key"]) }
    }

    @Test func duplicateKeysNameTheKeyAndTheFirstRow() throws {
        let reason = try #require(try job().duplicateReason)
        let text = reason("C1", 2)
        #expect(text.hasPrefix("key C1 repeats row 2;"), "\(text)")
        #expect(text.contains("unique"), "\(text)")
    }

    @Test func theResultHeaderIsTheContract() throws {
        #expect(try job().resultHeader == ["row", "key", "status", "transaction_id", "url", "expires", "attempts", "error"])
    }

    @Test(arguments: [
        (WorkState.succeeded, "ok"), (.failed, "failed"), (.unknown, "unknown"), (.sending, "unknown"),
    ])
    func statusesMap(state: WorkState, status: String) throws {
        let job = try job()
        let ok = state == .succeeded
        let row = FinishedRow(
            row: 5, key: "C5", value: "C5", state: state, attempts: 2,
            result: ok ? job.storedFields(of: .init(transactionID: "tx-1", url: "https://scan.example/tx-1", expires: "2025-01-01T10:00:00Z")) : nil,
            error: ok ? nil : "HTTP 502"
        )
        let fields = job.makeResultFormatter()(row)
        #expect(fields.count == job.resultHeader.count)
        #expect(fields[2] == status)
        if ok {
            #expect(fields == ["5", "C5", "ok", "tx-1", "https://scan.example/tx-1", "2025-01-01T10:00:00Z", "2", ""])
        } else {
            #expect(fields == ["5", "C5", status, "", "", "", "2", "HTTP 502"])
        }
    }

    @Test func theIdempotencyKeyIsStablePerKeyAndHidesIt() throws {
        let job = try job()
        let key = job.idempotencyKey(for: "customer-42")
        #expect(key == job.idempotencyKey(for: "customer-42"))
        #expect(key == (try self.job(full)).idempotencyKey(for: "customer-42"))  // same job file
        #expect(key != job.idempotencyKey(for: "customer-43"))
        #expect(key != job.idempotencyKey(for: "customer-42 "))
        #expect(key != (try self.job(path: "/tmp/other/job.yml")).idempotencyKey(for: "customer-42"))
        #expect(!key.contains("customer-42"))
        #expect(key.count == 32)
        #expect(key.allSatisfy { $0.isHexDigit && !$0.isUppercase })
    }

    @Test func intakeSettingsChangeWithEveryOption() throws {
        let plain = try job().intakeSettings
        let configured = try job(full).intakeSettings
        #expect(plain != configured)
        #expect(configured["tasks"] == "document_scan,face_liveness")
        #expect(configured["locale"] == "fr-FR")
        #expect(configured["expires_in"] == "7200")
    }
}


// MARK: - Transaction creation answers

@Suite struct TransactionAnswerTests {
    func answer(_ json: String) -> TransactionAnswer? { TransactionAnswer(body: Array(json.utf8)) }

    @Test func readsTheIdURLAndExpiry() {
        let created = answer(#"{"id":"t1","url":"https://scan.example/t1","expires":"2026-12-03T00:00:00Z"}"#)
        #expect(created?.id == "t1" && created?.url == "https://scan.example/t1" && created?.expires == "2026-12-03T00:00:00Z")
        #expect(created?.wrongType == nil)
    }

    /// The transaction exists once an id came back: wrong types elsewhere leave fields blank and say so.
    @Test func aFieldOfTheWrongTypeIsLeftBlankNamingIt() {
        let created = answer(#"{"id":"t1","url":{"href":"x"},"expires":5}"#)
        #expect(created?.id == "t1" && created?.url == "" && created?.expires == "")
        #expect(created?.wrongType == AnswerShapeError(field: "url", found: "an object", expected: "text"))
    }

    @Test(arguments: [#"{"id":7}"#, #"{"id":""}"#, #"{"id":["t1"]}"#, "[]", "not json", #"{"url":"x"}"#])
    func withoutAnIdAsTextThereIsNoAnswer(body: String) {
        #expect(answer(body) == nil)
    }
}
