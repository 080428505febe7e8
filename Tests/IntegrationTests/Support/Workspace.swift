import Foundation

/// A temporary folder holding one test's job file, manifest and outputs.
struct Workspace {
    let folder: String

    init() throws {
        folder = NSTemporaryDirectory() + "batch-runner-e2e-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    /// A workspace over an existing folder.
    init(folder: String) {
        self.folder = folder
    }

    var output: String { folder + "/out" }
    var jobFile: String { folder + "/job.yml" }
    var manifest: String { folder + "/manifest.csv" }

    /// Writes a number-verify job file pointing at `origin` (a sandbox), with extra YAML lines appended.
    func writeNumberVerifyJob(origin: String, concurrency: Int = 8, extra: String = "") throws {
        let text = """
            kind: number-verify
            manifest: manifest.csv
            output: out
            columns: { msisdn: msisdn, key: customer_id }
            concurrency: \(concurrency)
            endpoints:
              base: \(origin)/communication/kpn/numberverify
              token: \(origin)/communication/kpn/numberverify/token
            retry: { max_attempts: 6, base_delay: 20ms, max_delay: 200ms }
            \(extra)
            """
        try text.write(toFile: jobFile, atomically: true, encoding: .utf8)
    }

    /// Writes a pim-qr job file pointing at `origin` (a sandbox), with extra YAML lines appended.
    func writePimQRJob(origin: String, extra: String = "") throws {
        let text = """
            kind: pim-qr
            manifest: manifest.csv
            output: out
            columns: { key: customer_id }
            endpoints:
              base: \(origin)/kpn/qrcodegenerator
              token: \(origin)/oauth/client_credential/accesstoken?grant_type=client_credentials
            pim: { redirect: 1, title: "Hello", attributes: [Email], width: 400, height: 400 }
            \(extra)
            """
        try text.write(toFile: jobFile, atomically: true, encoding: .utf8)
    }

    func writeManifest(_ text: String) throws {
        try text.write(toFile: manifest, atomically: true, encoding: .utf8)
    }

    func read(_ name: String) throws -> String {
        try String(contentsOfFile: output + "/" + name, encoding: .utf8)
    }

    /// A CSV output as rows of fields (RFC 4180: quoted fields may hold commas, quotes and line breaks); from the
    /// workspace's `out` folder, or (`inOutput: false`) from the folder itself.
    func csv(_ name: String, inOutput: Bool = true) throws -> [[String]] {
        let text = try String(contentsOfFile: (inOutput ? output : folder) + "/" + name, encoding: .utf8)
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var isQuoted = false
        let scalars = Array(text.unicodeScalars)
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            index += 1
            if isQuoted {
                if scalar != "\"" {
                    field.unicodeScalars.append(scalar)
                } else if index < scalars.count, scalars[index] == "\"" {
                    field.append("\"")
                    index += 1
                } else {
                    isQuoted = false
                }
                continue
            }
            switch scalar {
            case "\"": isQuoted = true
            case ",":
                row.append(field)
                field = ""
            case "\n":
                row.append(field)
                rows.append(row)
                (row, field) = ([], "")
            default: field.unicodeScalars.append(scalar)
            }
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }

    /// summary.json of the output folder (`inOutput`) or of this folder itself.
    func summary(inOutput: Bool = true) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: (inOutput ? output : folder) + "/summary.json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }
}

/// Deterministic manifests of Dutch mobile numbers.
enum Manifests {
    /// The i-th distinct valid Dutch mobile number (never ending in 404 unless asked).
    static func number(_ index: Int) -> String {
        let digits = String(format: "%07d", index % 10_000_000)
        let third = ["1", "2", "3", "4", "5", "8"][index / 10_000_000 % 6]
        let number = "316\(third)\(digits)"
        // Numbers ending in 404 are unknown to the sandbox; move them to the 3168 range, which small indexes
        // never use, ending in 9 instead.
        return number.hasSuffix("404") ? "3168" + digits.dropLast() + "9" : number
    }

    /// `count` rows; every `duplicateEvery`-th row repeats an earlier number, every `rejectEvery`-th is invalid.
    static func numbers(count: Int, duplicateEvery: Int = 0, rejectEvery: Int = 0, notFoundEvery: Int = 0) -> String {
        var lines = ["customer_id,msisdn"]
        for row in 1...max(count, 1) where count > 0 {
            let msisdn: String
            if rejectEvery > 0, row % rejectEvery == 0 {
                msisdn = "06-12AB"
            } else if notFoundEvery > 0, row % notFoundEvery == 0 {
                msisdn = "0612\(String(format: "%03d", row % 1000))404"
            } else if duplicateEvery > 0, row % duplicateEvery == 0 {
                msisdn = "0" + number(row / 2).dropFirst(2)
            } else {
                msisdn = "+" + number(row)
            }
            lines.append("C\(row),\(msisdn)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
