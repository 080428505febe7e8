import Foundation

/// The parts of `GET /transactions/{id}/results/{id}` an export uses: field values and document files.
struct IDScanResult {
    /// A file listed under a task's `files`.
    struct File: Equatable {
        var category: String
        var type: String
        var url: String
    }

    /// Field name to value: the `mrz` value when present, else `visual`, else the first one given.
    private(set) var values: [String: String] = [:]
    private(set) var files: [File] = []

    /// Reads the answer; nil when it is not the documented JSON object.
    init?(body: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let tasks = object["tasks"] as? [[String: Any]]
        else { return nil }
        for task in tasks {
            for entry in task["result"] as? [[String: Any]] ?? [] {
                guard let field = entry["field"] as? String, values[field] == nil else { continue }
                let candidates = (entry["values"] as? [[String: Any]] ?? []).compactMap { value -> (String, String)? in
                    guard let text = Self.text(value["value"]) else { return nil }
                    return ((value["source"] as? String ?? "").lowercased(), text)
                }
                let chosen = candidates.first { $0.0 == "mrz" } ?? candidates.first { $0.0 == "visual" } ?? candidates.first
                if let chosen { values[field] = chosen.1 }
            }
            for file in task["files"] as? [[String: Any]] ?? [] {
                guard let url = file["url"] as? String else { continue }
                files.append(File(category: file["category"] as? String ?? "", type: file["type"] as? String ?? "", url: url))
            }
        }
    }

    private static func text(_ value: Any?) -> String? {
        switch value {
        case let text as String: text
        // JSONSerialization gives JSON booleans as NSNumbers of type `c` (char); no JSON number is read as one.
        case let number as NSNumber where String(cString: number.objCType) == "c": number.boolValue ? "true" : "false"
        case let number as NSNumber: number.stringValue
        default: nil
        }
    }
}
