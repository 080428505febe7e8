import Foundation
import Yams

/// One YAML mapping of a job file, read key by key. Remembers which keys were read, so ``finish()`` can reject
/// the ones nobody asked for (a typo like `concurency` fails instead of silently using the default).
struct YAMLObject {
    private let path: String
    private let file: String
    private let mark: Mark?
    private var entries: [(key: String, value: Node)] = []
    private var read: Set<String> = []

    init(_ node: Node, path: String, file: String) throws(JobError) {
        self.path = path
        self.file = file
        self.mark = node.mark
        guard let mapping = node.mapping else {
            let place = path.isEmpty ? "The job file" : "`\(path)`"
            throw JobError(.configuration, "\(file): \(place) must be a mapping of keys to values.")
        }
        for (key, value) in mapping {
            guard let name = key.string else {
                throw JobError(.configuration, "\(file)\(Self.line(key.mark)): keys must be text.")
            }
            entries.append((name, value))
        }
    }

    private static func line(_ mark: Mark?) -> String { mark.map { " line \($0.line)" } ?? "" }

    private func qualified(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// An error about `key`, naming the file, the line and the key.
    func error(_ key: String, _ problem: String) -> JobError {
        let node = entries.first { $0.key == key }?.value
        return JobError(.configuration, "\(file)\(Self.line(node?.mark ?? mark)): `\(qualified(key))` \(problem).")
    }

    private mutating func value(_ key: String) -> Node? {
        read.insert(key)
        guard let node = entries.first(where: { $0.key == key })?.value else { return nil }
        if case .scalar(let scalar) = node, scalar.style == .plain, ["", "~", "null"].contains(scalar.string) {
            return nil
        }
        return node
    }

    mutating func string(_ key: String) throws(JobError) -> String? {
        guard let node = value(key) else { return nil }
        guard case .scalar(let scalar) = node else { throw error(key, "must be a single value") }
        return scalar.string
    }

    mutating func requiredString(_ key: String) throws(JobError) -> String {
        guard let text = try string(key), !text.isEmpty else {
            throw JobError(.configuration, "\(file): the required key `\(qualified(key))` is missing.")
        }
        return text
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int>) throws(JobError) -> Int? {
        guard let text = try string(key) else { return nil }
        guard let number = Int(text), range.contains(number) else {
            throw error(key, "must be a whole number from \(range.lowerBound) to \(range.upperBound), not `\(text)`")
        }
        return number
    }

    mutating func number(_ key: String, above minimum: Double) throws(JobError) -> Double? {
        guard let text = try string(key) else { return nil }
        guard let number = Double(text), number.isFinite, number > minimum else {
            throw error(key, "must be a number above \(minimum), not `\(text)`")
        }
        return number
    }

    mutating func bool(_ key: String) throws(JobError) -> Bool? {
        guard let text = try string(key) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(key, "must be true or false, not `\(text)`")
        }
    }

    mutating func duration(_ key: String) throws(JobError) -> Duration? {
        guard let text = try string(key) else { return nil }
        guard let duration = DurationText.parse(text) else {
            throw error(key, "must be a duration such as 500ms, 30s, 15m, 2h or 1d, not `\(text)`")
        }
        return duration
    }

    mutating func strings(_ key: String) throws(JobError) -> [String]? {
        guard let node = value(key) else { return nil }
        switch node {
        case .scalar(let scalar):
            return scalar.string.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
        case .sequence(let sequence):
            var result: [String] = []
            for item in sequence {
                guard let text = item.string else { throw error(key, "must be a list of values") }
                result.append(text)
            }
            return result
        default:
            throw error(key, "must be a list of values")
        }
    }

    mutating func variableName(_ key: String) throws(JobError) -> String? {
        guard let name = try string(key) else { return nil }
        let valid = name.utf8.first.map { !($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) } ?? false
            && name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) }
        guard valid else {
            throw error(key, "must name an environment variable (letters, digits and _), not hold a credential itself")
        }
        return name
    }

    mutating func object(_ key: String) throws(JobError) -> YAMLObject? {
        guard let node = value(key) else { return nil }
        return try YAMLObject(node, path: qualified(key), file: file)
    }

    /// Fails on the first key that was never read.
    func finish() throws(JobError) {
        if let unknown = entries.first(where: { !read.contains($0.key) }) {
            throw error(unknown.key, "is not a key batch-runner knows; check its spelling against the README's job file reference")
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
    }
}
