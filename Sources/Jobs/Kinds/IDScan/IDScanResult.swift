/// The parts of `GET /transactions/{id}/results/{id}` an export uses: field values and document files.
///
/// Fields may be missing (a task without files, a value without a source), but a field that is there must have
/// the documented JSON type: an answer with `tasks` as text or a file's `url` as a number is not read as if it
/// held nothing; the row fails naming the field.
struct IDScanResult {
    /// A file listed under a task's `files`.
    struct File: Equatable {
        var category: String
        var type: String
        var url: String
    }

    /// Why an answer cannot be read.
    enum Problem: Error, Equatable {
        /// Not JSON, or not an object with a `tasks` list.
        case notTheDocumentedJSON
        case wrongType(AnswerShapeError)
    }

    /// Field name to value: the `mrz` value when present, else `visual`, else the first one given.
    private(set) var values: [String: String] = [:]
    private(set) var files: [File] = []

    init(body: [UInt8]) throws(Problem) {
        guard let object = JSONValue(parsing: body), case .object = object, case .array(let tasks)? = object["tasks"] else {
            throw .notTheDocumentedJSON
        }
        do {
            for (index, task) in tasks.enumerated() {
                let path = "tasks[\(index)]"
                guard let task = try task.checked(.object, at: path) else { continue }
                try read(results: task.member("result", .array, in: path)?.elements ?? [], at: path + ".result")
                for (number, file) in try (task.member("files", .array, in: path)?.elements ?? []).enumerated() {
                    let path = path + ".files[\(number)]"
                    guard let file = try file.checked(.object, at: path), let url = try file.text("url", in: path) else { continue }
                    files.append(File(category: try file.text("category", in: path) ?? "", type: try file.text("type", in: path) ?? "", url: url))
                }
            }
        } catch {
            throw .wrongType(error)
        }
    }

    private mutating func read(results: [JSONValue], at path: String) throws(AnswerShapeError) {
        for (index, entry) in results.enumerated() {
            let path = path + "[\(index)]"
            guard let entry = try entry.checked(.object, at: path), let field = try entry.text("field", in: path) else { continue }
            var candidates: [(source: String, value: String)] = []
            for (number, value) in try (entry.member("values", .array, in: path)?.elements ?? []).enumerated() {
                let path = path + ".values[\(number)]"
                guard let value = try value.checked(.object, at: path),
                    let text = try value.text("value", [.string, .number, .bool], in: path)
                else { continue }
                candidates.append(((try value.text("source", in: path) ?? "").lowercased(), text))
            }
            guard values[field] == nil else { continue }
            let chosen = candidates.first { $0.source == "mrz" } ?? candidates.first { $0.source == "visual" } ?? candidates.first
            if let chosen { values[field] = chosen.value }
        }
    }
}
