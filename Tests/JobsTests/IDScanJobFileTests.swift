import Testing

@testable import Jobs

/// The `idscan:` and ID Scan `credentials:` parts of the job file, for both ID Scan kinds.
@Suite struct IDScanJobFileTests {
    let path = "/tmp/x/job.yml"

    func parse(_ text: String) throws(JobFileError) -> JobConfiguration {
        try JobFile.parse(text, path: path)
    }

    func expectError(_ text: String, containing fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        expectJobFileError(text, path: path, containing: fragments, sourceLocation: sourceLocation)
    }

    func reports(_ idscan: String) -> String {
        "kind: idscan-reports\nmanifest: pairs.csv\nidscan:\n" + idscan
    }

    func create(_ idscan: String) -> String {
        "kind: idscan-create\nmanifest: customers.csv\nidscan:\n" + idscan
    }

    // MARK: idscan-reports

    @Test func reportsDefaults() throws {
        let job = try parse("kind: idscan-reports\nmanifest: pairs.csv\n")
        #expect(job.kind == .idscanReports)
        #expect(job.usesIDScan)
        #expect(job.manifest == "/tmp/x/pairs.csv")
        #expect(job.output == "/tmp/x/out/job")
        #expect(job.idscan == JobConfiguration.IDScanOptions())
        #expect(job.idscan.report == .extended)
        #expect(job.idscan.fallbackToSimple == true)
        #expect(job.idscan.resultFields == [])
        #expect(job.idscan.images == false)
        #expect(job.column("transaction_id") == "transaction_id")
        #expect(job.column("result_id") == "result_id")
        #expect(job.endpoints.base == "https://api.cm.com/id-scan/v1")
        #expect(job.endpoints.token == nil)
        #expect(job.credentials.clientIDVariable == "IDSCAN_KEY_ID")
        #expect(job.credentials.clientSecretVariable == "IDSCAN_SECRET")
    }

    @Test func reportsExplicitValues() throws {
        let job = try parse(
            """
            kind: idscan-reports
            manifest: ../data/pairs.csv
            output: ../out/audit
            columns: { transaction_id: tx, result_id: res }
            credentials: { key_id_env: AUDIT_KEY_ID, secret_env: AUDIT_SECRET }
            idscan:
              report: both
              fallback_to_simple: false
              result_fields: [document_number, date_of_birth, nationality_2]
              images: true
            """
        )
        #expect(job.kind == .idscanReports)
        #expect(job.manifest == "/tmp/data/pairs.csv")
        #expect(job.output == "/tmp/out/audit")
        #expect(job.column("transaction_id") == "tx")
        #expect(job.column("result_id") == "res")
        #expect(job.credentials.clientIDVariable == "AUDIT_KEY_ID")
        #expect(job.credentials.clientSecretVariable == "AUDIT_SECRET")
        #expect(job.idscan.report == .both)
        #expect(job.idscan.fallbackToSimple == false)
        #expect(job.idscan.resultFields == ["document_number", "date_of_birth", "nationality_2"])
        #expect(job.idscan.images == true)
        // The create-only options keep their defaults.
        #expect(job.idscan.tasks == ["document_scan"])
        #expect(job.idscan.locale == nil)
    }

    @Test(arguments: JobConfiguration.IDScanOptions.Report.allCases)
    func everyReportTypeIsAccepted(report: JobConfiguration.IDScanOptions.Report) throws {
        let job = try parse(reports("  report: \(report.rawValue)\n"))
        #expect(job.idscan.report == report)
    }

    @Test func resultFieldsMayBeACommaSeparatedValue() throws {
        let job = try parse(reports("  result_fields: document_number, surname\n"))
        #expect(job.idscan.resultFields == ["document_number", "surname"])
    }

    @Test func aBadReportTypeIsNamed() {
        expectError(reports("  report: full\n"), containing: ["`idscan.report`", "`full`", "simple, extended or both"])
        expectError(reports("  report: Extended\n"), containing: ["`idscan.report`", "`Extended`"])
    }

    @Test func badBooleansAreNamed() {
        expectError(reports("  fallback_to_simple: maybe\n"), containing: ["`idscan.fallback_to_simple`", "true or false"])
        expectError(reports("  images: 2\n"), containing: ["`idscan.images`", "true or false"])
    }

    @Test(arguments: ["Document_Number", "document number", "document-number", "surname!", "é"])
    func aResultFieldThatIsNotAFieldNameIsNamed(field: String) {
        expectError(reports("  result_fields: [\"\(field)\"]\n"), containing: ["`idscan.result_fields`", "`\(field)`"])
    }

    @Test func aResultFieldNamedTwiceIsRefused() {
        expectError(reports("  result_fields: [surname, document_number, surname]\n"), containing: ["`idscan.result_fields`", "twice"])
    }

    @Test(arguments: ["tasks", "locale", "mobile_only", "expires_in", "return_url", "scan_return_url"])
    func aCreateOnlyKeyUnderReportsIsUnknown(key: String) {
        let values = [
            "tasks": "[document_scan]", "locale": "en-US", "mobile_only": "true", "expires_in": "3600",
            "return_url": "https://shop.example/done", "scan_return_url": "https://shop.example/scanned",
        ]
        expectError(reports("  \(key): \(values[key]!)\n"), containing: ["`idscan.\(key)`", "is not a key"])
    }

    @Test func aCreateColumnRoleUnderReportsIsUnknown() {
        expectError(
            "kind: idscan-reports\nmanifest: pairs.csv\ncolumns: { key: customer }\n",
            containing: ["`columns.key`", "is not a key"]
        )
    }

    // MARK: idscan-create

    @Test func createDefaults() throws {
        let job = try parse("kind: idscan-create\nmanifest: customers.csv\n")
        #expect(job.kind == .idscanCreate)
        #expect(job.usesIDScan)
        #expect(job.idscan.tasks == ["document_scan"])
        #expect(job.idscan.locale == nil)
        #expect(job.idscan.mobileOnly == nil)
        #expect(job.idscan.expiresIn == nil)
        #expect(job.idscan.returnURL == nil)
        #expect(job.idscan.scanReturnURL == nil)
        #expect(job.column("key") == "key")
        #expect(job.endpoints.base == "https://api.cm.com/id-scan/v1")
        #expect(job.credentials.clientIDVariable == "IDSCAN_KEY_ID")
        #expect(job.credentials.clientSecretVariable == "IDSCAN_SECRET")
    }

    @Test func createExplicitValues() throws {
        let job = try parse(
            """
            kind: idscan-create
            manifest: customers.csv
            columns: { key: customer_id }
            credentials: { key_id_env: ONBOARDING_KEY_ID }
            idscan:
              tasks: [document_scan, face_liveness, face_match]
              locale: nl-NL
              mobile_only: true
              expires_in: 7200
              return_url: "https://shop.example/done?customer={key}"
              scan_return_url: https://shop.example/scanned/{key}
            """
        )
        #expect(job.kind == .idscanCreate)
        #expect(job.column("key") == "customer_id")
        #expect(job.credentials.clientIDVariable == "ONBOARDING_KEY_ID")
        #expect(job.credentials.clientSecretVariable == "IDSCAN_SECRET")
        #expect(job.idscan.tasks == ["document_scan", "face_liveness", "face_match"])
        #expect(job.idscan.locale == "nl-NL")
        #expect(job.idscan.mobileOnly == true)
        #expect(job.idscan.expiresIn == 7200)
        #expect(job.idscan.returnURL == "https://shop.example/done?customer={key}")
        #expect(job.idscan.scanReturnURL == "https://shop.example/scanned/{key}")
        // The reports-only options keep their defaults.
        #expect(job.idscan.report == .extended)
        #expect(job.idscan.resultFields == [])
    }

    @Test(arguments: JobConfiguration.IDScanOptions.taskSets)
    func everyValidTaskSetIsAccepted(tasks: [String]) throws {
        let job = try parse(create("  tasks: [\(tasks.joined(separator: ", "))]\n"))
        #expect(job.idscan.tasks == tasks)
    }

    @Test(arguments: [
        "[face_liveness]", "[document_scan, face_match]", "[face_liveness, document_scan]",
        "[document_scan, face_match, face_liveness]", "[document_scan, document_scan]", "[]", "[Document_Scan]",
    ])
    func aTaskSetIDScanRefusesIsNamed(tasks: String) {
        expectError(create("  tasks: \(tasks)\n"), containing: ["`idscan.tasks`", "is not a task set", "in that order"])
    }

    @Test(arguments: JobConfiguration.IDScanOptions.locales)
    func everySupportedLocaleIsAccepted(locale: String) throws {
        #expect(try parse(create("  locale: \(locale)\n")).idscan.locale == locale)
    }

    @Test(arguments: ["de-DE", "nl", "en-us", "EN-US", "nl_NL"])
    func anUnsupportedLocaleIsNamed(locale: String) {
        expectError(create("  locale: \(locale)\n"), containing: ["`idscan.locale`", "`\(locale)`", "en-US, nl-NL, fr-FR"])
    }

    @Test func expiresInBoundsAreInclusive() throws {
        #expect(try parse(create("  expires_in: 3600\n")).idscan.expiresIn == 3600)
        #expect(try parse(create("  expires_in: 86400\n")).idscan.expiresIn == 86400)
    }

    @Test(arguments: ["3599", "86401", "0", "-3600", "1h", "7200.5"])
    func expiresInOutOfRangeIsNamed(value: String) {
        expectError(create("  expires_in: \(value)\n"), containing: ["`idscan.expires_in`", "3600 to 86400", "`\(value)`"])
    }

    @Test func mobileOnlyFalseIsKeptNotDropped() throws {
        #expect(try parse(create("  mobile_only: false\n")).idscan.mobileOnly == false)
        expectError(create("  mobile_only: sometimes\n"), containing: ["`idscan.mobile_only`"])
    }

    @Test(arguments: ["return_url", "scan_return_url"], [
        "http://shop.example/done", "ftp://shop.example/done", "/done?customer={key}", "shop.example/done",
        "https:///done", "https://shop example/done", "javascript:alert(1)",
    ])
    func aReturnURLThatIsNotAbsoluteHTTPSIsNamed(key: String, url: String) {
        expectError(create("  \(key): \"\(url)\"\n"), containing: ["`idscan.\(key)`", "https://"])
    }

    @Test func aLoopbackHTTPReturnURLIsAccepted() throws {
        let job = try parse(create("  return_url: http://127.0.0.1:8080/done/{key}\n"))
        #expect(job.idscan.returnURL == "http://127.0.0.1:8080/done/{key}")
    }

    @Test(arguments: ["report", "fallback_to_simple", "result_fields", "images"])
    func aReportsOnlyKeyUnderCreateIsUnknown(key: String) {
        let values = ["report": "simple", "fallback_to_simple": "true", "result_fields": "[surname]", "images": "true"]
        expectError(create("  \(key): \(values[key]!)\n"), containing: ["`idscan.\(key)`", "is not a key"])
    }

    @Test func aTypoUnderIDScanIsUnknown() {
        expectError(create("  local: nl-NL\n"), containing: ["`idscan.local`", "is not a key"])
    }

    // MARK: misplaced sections and credentials

    @Test func idscanOnANumberVerifyJobIsRefused() {
        expectError(
            "kind: number-verify\nmanifest: numbers.csv\nidscan: { report: simple }\n",
            containing: ["`idscan`", "idscan-reports and idscan-create only"]
        )
        expectError(
            "kind: pim-qr\nmanifest: people.csv\ncolumns: { key: id }\nidscan: { tasks: [document_scan] }\n",
            containing: ["`idscan`", "idscan-reports and idscan-create only"]
        )
    }

    @Test func otherKindsSectionsUnderIDScanKindsAreRefused() {
        expectError(
            "kind: idscan-create\nmanifest: customers.csv\nnumber_verify: { scopes: [operator_lookup] }\n",
            containing: ["`number_verify`", "number-verify only"]
        )
        expectError("kind: idscan-reports\nmanifest: pairs.csv\npim: { width: 400 }\n", containing: ["`pim`", "pim-qr only"])
    }

    @Test(arguments: ["idscan-reports", "idscan-create"], ["client_id_env", "client_secret_env"])
    func gatewayCredentialKeysUnderAnIDScanKindAreUnknown(kind: String, key: String) {
        expectError(
            "kind: \(kind)\nmanifest: m.csv\ncredentials: { \(key): KPN_CLIENT_ID }\n",
            containing: ["`credentials.\(key)`", "is not a key"]
        )
    }

    @Test(arguments: ["key_id_env", "secret_env"])
    func idscanCredentialKeysUnderAGatewayKindAreUnknown(key: String) {
        expectError(
            "kind: number-verify\nmanifest: m.csv\ncredentials: { \(key): IDSCAN_KEY_ID }\n",
            containing: ["`credentials.\(key)`", "is not a key"]
        )
    }

    @Test func credentialOverridesAreVariableNames() throws {
        let job = try parse("kind: idscan-reports\nmanifest: m.csv\ncredentials: { secret_env: VAULT_IDSCAN_SECRET }\n")
        #expect(job.credentials.clientIDVariable == "IDSCAN_KEY_ID")
        #expect(job.credentials.clientSecretVariable == "VAULT_IDSCAN_SECRET")
        expectError(
            "kind: idscan-create\nmanifest: m.csv\ncredentials: { secret_env: \"AC4Etykn7j/usGR5+FwLD\" }\n",
            containing: ["`credentials.secret_env`", "environment variable"]
        )
    }
}
