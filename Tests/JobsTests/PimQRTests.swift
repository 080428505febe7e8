import Foundation
import Testing

@testable import Jobs

@Suite struct PimQRTests {
    @Test(arguments: [
        ("C001", "C001"), ("customer 42", "customer_42"), ("../etc/passwd", "__etc_passwd"), ("a/b", "a_b"),
        ("..", nil), ("", nil), ("...hidden", "_hidden"), (".profile", "profile"), ("tab\there", "tab_here"),
        ("ünïcødé", "_n_c_d_"), ("C:\\x", "C__x"), ("_/_", nil), ("a..b", "a_b"), ("v1.2", "v1.2"),
    ] as [(String, String?)])
    func makesKeysSafeAsFileNames(key: String, expected: String?) {
        #expect(SafeFileName.make(key) == expected)
    }

    @Test func capsFileNamesAt100Characters() {
        #expect(SafeFileName.make(String(repeating: "k", count: 5_000))?.count == 100)
    }

    @Test func fillsTemplatesFromTheRow() throws {
        let template = try RowTemplate("Hello {first_name} { Family_Name }!", header: ["id", "first_name", "family_name"])
        #expect(template.render(ManifestCells(values: ["1", "Anna", "de Vries"])) == "Hello Anna de Vries!")
        #expect(template.render(ManifestCells(values: ["1"])) == "Hello  !")
        #expect(throws: RowTemplate.UnknownColumn.self) { try RowTemplate("Hi {nickname}", header: ["id"]) }
    }

    static let svg = #"<?xml version="1.0"?><!-- made by a test --><svg xmlns="http://www.w3.org/2000/svg"></svg>"#

    @Test func readsEveryFramingOfTheBase64SVG() {
        let base64 = Data(Self.svg.utf8).base64EncodedString()
        for body in [base64, "\"\(base64)\"", #"{"image": "\#(base64)"}"#, #"{"status": "ok", "qr": "\#(base64)"}"#, base64 + "\n"] {
            #expect(SVGAnswer.decode(Array(body.utf8)) == Array(Self.svg.utf8), "\(body.prefix(20))")
        }
    }

    @Test func refusesAnswersThatAreNotSVG() {
        let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A]).base64EncodedString()
        let html = Data("<html><body>error</body></html>".utf8).base64EncodedString()
        for body in [png, html, "not base64 at all!", "{}", #"{"error": "x"}"#, ""] {
            #expect(SVGAnswer.decode(Array(body.utf8)) == nil, "\(body)")
        }
        #expect(!SVGAnswer.isSVG(Array("<svg".utf8)))
    }

    @Test func readsThePimSectionOfAJobFile() throws {
        let job = try JobFile.parse(
            """
            kind: pim-qr
            manifest: customers.csv
            columns: { key: customer_id }
            pim: { redirect: 2, title: "Hi {first_name}", attributes: [email, MOBILE, FamilyName], width: 300, height: 500 }
            """,
            path: "/jobs/pim.yml"
        )
        #expect(job.pim.attributes == ["Email", "Mobile", "FamilyName"])
        #expect(job.pim.redirect == 2)
        #expect(job.pim.width == 300)
        #expect(job.pim.height == 500)
        #expect(job.endpoints.base == "https://api-prd.kpn.com/kpn/qrcodegenerator")
    }

    @Test(arguments: [
        ("pim: { attributes: [Shoesize] }", "Shoesize"),
        ("pim: { width: 20 }", "100 to 2000"),
        ("pim: { colour: red }", "pim.colour"),
    ])
    func refusesBadPimSettings(line: String, fragment: String) {
        do {
            _ = try JobFile.parse("kind: pim-qr\nmanifest: c.csv\ncolumns: { key: id }\n\(line)\n", path: "/jobs/pim.yml")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains(fragment), "\(error.message)")
        }
    }

    @Test func aPimJobNeedsAKeyColumn() {
        #expect(throws: JobFileError.self) { try JobFile.parse("kind: pim-qr\nmanifest: c.csv\n", path: "/jobs/pim.yml") }
    }
}

@Suite struct PimQRRowReaderTests {
    func reader(header: [String]) throws -> RowReader {
        var job = try JobFile.parse(
            """
            kind: pim-qr
            manifest: c.csv
            columns: { key: id }
            pim: { title: "Hi {first_name}", description: "For {id}", attributes: [Email], width: 400, height: 400 }
            """,
            path: "/jobs/pim.yml"
        )
        job.output = "/tmp/out"
        return try PimQRJob(configuration: job).rowReader(header: ManifestHeader(names: header, manifestPath: "c.csv"))
    }

    func body(_ row: IntakeRow) throws -> [String: String] {
        let item = WorkItem(id: 1, value: row.value, payload: row.payload, attempts: 0)
        let body = PimQRJob.fileNameAndBody(of: item).body
        return try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: String] ?? [:]
    }

    @Test func emptyOverrideCellsKeepTheJobsValues() throws {
        let row = try reader(header: ["id", "first_name", "title", "width"]).read(1, ManifestCells(values: ["C1", "Anna", "", ""]))
        #expect(row.rejectReason == nil)
        #expect(row.value == "c1")
        #expect(PimQRJob.fileNameAndBody(of: WorkItem(id: 1, value: row.value, payload: row.payload, attempts: 0)).name == "C1")
        #expect(try body(row) == ["redirect": "1", "title": "Hi Anna", "description": "For C1", "attributes": "Email", "width": "400", "height": "400"])
    }

    @Test func overrideCellsReplaceTheJobsValuesAndFillTheirTemplates() throws {
        let header = ["id", "first_name", "title", "attributes", "width", "height", "redirect"]
        let row = try reader(header: header).read(1, ManifestCells(values: ["C1", "Anna", "Dear {first_name}", "mobile, FAMILYNAME", "600", "300", "7"]))
        #expect(row.rejectReason == nil)
        let fields = try body(row)
        #expect(fields["title"] == "Dear Anna")
        #expect(fields["attributes"] == "Mobile,FamilyName")
        #expect(fields["width"] == "600")
        #expect(fields["height"] == "300")
        #expect(fields["redirect"] == "7")
    }

    @Test(arguments: [
        (["C1", "Anna", "", "Shoesize", "", "", ""], "Shoesize"),
        (["C1", "Anna", "", "", "99", "", ""], "width `99`"),
        (["C1", "Anna", "", "", "", "wide", ""], "height `wide`"),
        (["C1", "Anna", "", "", "", "", "0"], "redirect `0`"),
        (["C1", "Anna", "Hi {nickname}", "", "", "", ""], "placeholder"),
        (["", "Anna", "", "", "", "", ""], "key is empty"),
    ])
    func rowsThatBreakARuleAreRejectedWithTheReason(values: [String], fragment: String) throws {
        let header = ["id", "first_name", "title", "attributes", "width", "height", "redirect"]
        let row = try reader(header: header).read(3, ManifestCells(values: values))
        let reason = try #require(row.rejectReason)
        #expect(reason.contains(fragment), "\(reason)")
        #expect(row.row == 3)
    }
}

/// File names on case-insensitive drives (SMB shares, macOS): keys that differ only in letter case or in how
/// Unicode encodes an accent are one file name, so the later row is rejected rather than overwriting the first.
extension PimQRRowReaderTests {
    @Test(arguments: [("ABC", "abc"), ("Caf\u{E9}", "Cafe\u{301}"), ("Stra\u{DF}e", "STRA\u{DF}E")])
    func keysThatCollideOnACaseInsensitiveDriveShareOneIdentity(first: String, second: String) throws {
        let reader = try reader(header: ["id", "first_name"])
        let one = reader.read(1, ManifestCells(values: [first, "Anna"]))
        let two = reader.read(2, ManifestCells(values: [second, "Anna"]))
        #expect(one.rejectReason == nil && two.rejectReason == nil)
        #expect(one.value == two.value, "\(one.value) and \(two.value)")
    }

    @Test func aStateFromBeforeFileNamesWereKeptInThePayloadStillNamesItsFile() {
        let old = WorkItem(id: 1, value: "C1", payload: #"{"title":"x"}"#, attempts: 0)
        #expect(PimQRJob.fileNameAndBody(of: old) == (name: "C1", body: #"{"title":"x"}"#))
    }

    @Test(arguments: [("-rf", "_-rf"), ("--help", "_--help"), ("a-b", "a-b")])
    func aNameStartingWithADashGetsASafePrefix(key: String, name: String) {
        #expect(SafeFileName.make(key) == name)
    }
}
