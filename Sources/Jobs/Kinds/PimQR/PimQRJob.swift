import Crypto
import Foundation
import NIOHTTP1

/// `pim-qr`: one PiM ID QR code per customer row, saved as `qr/<key>.svg`.
package struct PimQRJob: BatchJob {
    package let configuration: JobConfiguration

    package init(configuration: JobConfiguration) {
        self.configuration = configuration
    }

    /// The saved QR code.
    package struct Result: Sendable, Equatable {
        /// Relative to the output folder (`qr/<key>.svg`).
        package var file: String
        package var sha256: String
        package var bytes: Int
    }

    package var resultColumns: [ResultColumn<Result>] {
        [
            .row, .key, .status,
            .field("file", \.file), .field("sha256", \.sha256), .field("bytes") { String($0.bytes) },
            .attempts, .error,
        ]
    }

    package var intakeSettings: IntakeSettings {
        let pim = configuration.pim
        return IntakeSettings(kind: "pim-qr", [
            "key": configuration.column("key"), "redirect": "\(pim.redirect)", "title": pim.title, "description": pim.description,
            "attributes": pim.attributes.joined(separator: ","), "size": "\(pim.width)x\(pim.height)",
        ])
    }

    /// Two keys whose file names are the same, or differ only in letter case (which case-insensitive drives such as
    /// SMB shares and macOS treat as one file): the first row keeps it, later ones are rejected.
    package var duplicateReason: DuplicateReason? {
        { value, firstRow in
            "key becomes the file name \(value).svg (letter case aside) after making it safe, which row \(firstRow) already uses; on a case-insensitive drive one file would overwrite the other. Make the keys unique"
        }
    }

    package var fileFolders: [String] { ["qr"] }

    package func rowReader(header: ManifestHeader) throws -> RowReader {
        let keyIndex = try header.index(of: configuration.column("key"), role: "key")
        let names = header.names
        func column(_ name: String) -> Int? { names.firstIndex { $0.trimmingSpaces().lowercased() == name } }
        func template(_ text: String, key: String) throws(JobFileError) -> RowTemplate {
            do {
                return try RowTemplate(text, header: names)
            } catch {
                throw JobFileError("\(configuration.jobFile): `pim.\(key)` uses {\(error.name)}, but the manifest \(header.manifestPath) has no column `\(error.name)`. Fix the placeholder or add the column.")
            }
        }
        let defaults = configuration.pim
        let title = try template(defaults.title, key: "title")
        let description = try template(defaults.description, key: "description")
        let overrides = (
            title: column("title"), description: column("description"), attributes: column("attributes"),
            width: column("width"), height: column("height"), redirect: column("redirect")
        )
        return RowReader(keyColumn: keyIndex) { row, cells in
            let key = cells[keyIndex] ?? ""
            // Keys are compared as Unicode composes them (NFC), so `café` typed two ways is one name.
            guard let safeKey = SafeFileName.make(key.precomposedStringWithCanonicalMapping) else {
                return IntakeRow(row: row, key: key, value: key, rejectReason: "key is empty or has no letter or digit to name the QR file; fill in the key column")
            }
            func reject(_ reason: String) -> IntakeRow { IntakeRow(row: row, key: key, value: key, rejectReason: reason) }
            func cell(_ index: Int?) -> String? {
                guard let index, let value = cells[index]?.trimmingSpaces(), !value.isEmpty else { return nil }
                return value
            }
            var fields = defaults
            var renderedTitle = title.render(cells)
            var renderedDescription = description.render(cells)
            for (index, target) in [(overrides.title, 0), (overrides.description, 1)] {
                guard let text = cell(index) else { continue }
                guard let override = try? RowTemplate(text, header: names) else {
                    return reject("\(target == 0 ? "title" : "description") uses a {placeholder} that is not a column; fix the cell")
                }
                if target == 0 { renderedTitle = override.render(cells) } else { renderedDescription = override.render(cells) }
            }
            if let text = cell(overrides.attributes) {
                var attributes: [String] = []
                for name in text.split(separator: ",") where !name.trimmingSpaces().isEmpty {
                    guard let attribute = JobConfiguration.PimOptions.attribute(named: String(name)) else {
                        return reject("attributes has `\(name.trimmingSpaces())`, which is not a PiM attribute; use names such as Email, Mobile, FirstName, FamilyName")
                    }
                    attributes.append(attribute)
                }
                fields.attributes = attributes
            }
            for (index, name) in [(overrides.width, "width"), (overrides.height, "height")] {
                guard let text = cell(index) else { continue }
                guard let number = Int(text), JobConfiguration.PimOptions.sizeRange.contains(number) else {
                    return reject("\(name) `\(text)` is not a whole number from 100 to 2000")
                }
                if name == "width" { fields.width = number } else { fields.height = number }
            }
            if let text = cell(overrides.redirect) {
                guard let number = Int(text), JobConfiguration.PimOptions.redirectRange.contains(number) else {
                    return reject("redirect `\(text)` is not a whole number from 1 to 9999")
                }
                fields.redirect = number
            }
            guard !fields.attributes.isEmpty else {
                return reject("no attributes to ask for; set pim.attributes in the job file or fill in the attributes column")
            }
            let body: [String: String] = [
                "redirect": String(fields.redirect), "title": renderedTitle, "description": renderedDescription,
                "attributes": fields.attributes.joined(separator: ","), "width": String(fields.width),
                "height": String(fields.height),
            ]
            let json = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            // The item's identity ignores letter case; the file keeps the key's own.
            return IntakeRow(row: row, key: key, value: safeKey.lowercased(), payload: safeKey + "\n" + json)
        }
    }

    package func makeTokenProvider(_ context: TokenContext) -> TokenProvider? {
        GatewayToken.provider(url: configuration.endpoints.token, context: context)
    }

    /// The file name and the request body an item's payload holds (`<name>\n<json>`; a state written before file
    /// names were kept in the payload holds only the body, and the item's value is the name).
    static func fileNameAndBody(of item: WorkItem) -> (name: String, body: String) {
        let payload = item.payload ?? "{}"
        guard !payload.hasPrefix("{"), let newline = payload.firstIndex(of: "\n") else { return (item.value, payload) }
        return (String(payload[..<newline]), String(payload[payload.index(after: newline)...]))
    }

    package func perform(_ item: WorkItem, context: RowContext) async throws -> RowOutcome<Result> {
        let (name, body) = Self.fileNameAndBody(of: item)
        let request = APIRequest(
            method: .POST,
            url: configuration.endpoints.base + "/image",
            headers: [("Content-Type", "application/json"), ("Accept", "application/json, text/plain")],
            body: Array(body.utf8),
            label: "POST /image"
        )
        let answer = try await context.send(request)
        guard answer.isSuccess else {
            return .failed("PiM ID rejected the request (\(GatewayAnswer.describe(status: answer.status, body: answer.body)))")
        }
        guard let svg = SVGAnswer.decode(answer.body) else {
            return .failed("PiM ID answered HTTP \(answer.status), but the answer does not decode to an SVG document (\(answer.body.count) bytes)")
        }
        let relative = "qr/\(name).svg"
        try AtomicFile.write(path: configuration.output + "/" + relative, bytes: svg)
        let sha256 = SHA256.hash(data: svg).hexString
        // Recorded as a saved file too, so a shared store keeps the SVG and `export` can write it anywhere.
        let file = SavedFile(
            path: relative, kind: "qr", sha256: sha256, bytes: svg.count, requestedAt: answer.requestedAt,
            apiPath: "POST " + (URLComponents(string: answer.url)?.percentEncodedPath ?? "/image"), httpStatus: answer.status,
            apiVersion: answer.headers.first(name: "api-version") ?? "", contentType: "image/svg+xml"
        )
        return .succeeded(Result(file: relative, sha256: sha256, bytes: svg.count), files: [file])
    }
}
