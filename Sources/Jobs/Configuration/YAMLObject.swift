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

    init(_ node: Node, path: String, file: String) throws(JobFileError) {
        self.path = path
        self.file = file
        self.mark = node.mark
        guard let mapping = node.mapping else {
            let place = path.isEmpty ? "the job file" : "`\(path)`"
            let found = node.sequence != nil ? "a list" : "a single value"
            let example = path.isEmpty ? "`kind: number-verify` on one line, `manifest: customers.csv` on the next" : "`\(path): { key: value }`"
            throw JobFileError("\(file)\(Self.line(node.mark)): \(place) must be a mapping of keys to values, not \(found); write it as \(example).")
        }
        for (key, value) in mapping {
            guard let name = key.string else {
                throw JobFileError("\(file)\(Self.line(key.mark)): keys must be text.")
            }
            entries.append((name, value))
        }
    }

    private static func line(_ mark: Mark?) -> String { mark.map { " line \($0.line)" } ?? "" }

    private func qualified(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// An error about `key`, naming the file, the line and the key.
    func error(_ key: String, _ problem: String) -> JobFileError {
        let node = entries.first { $0.key == key }?.value
        return JobFileError("\(file)\(Self.line(node?.mark ?? mark)): `\(qualified(key))` \(problem).")
    }

    private mutating func value(_ key: String) -> Node? {
        read.insert(key)
        guard let node = entries.first(where: { $0.key == key })?.value else { return nil }
        if case .scalar(let scalar) = node, scalar.style == .plain, ["", "~", "null"].contains(scalar.string) {
            return nil
        }
        return node
    }

    mutating func string(_ key: String) throws(JobFileError) -> String? {
        guard let node = value(key) else { return nil }
        guard case .scalar(let scalar) = node else { throw error(key, "must be a single value") }
        return scalar.string
    }

    mutating func requiredString(_ key: String) throws(JobFileError) -> String {
        guard let text = try string(key), !text.isEmpty else {
            throw JobFileError("\(file): the required key `\(qualified(key))` is missing or empty; add it (see the README's job file reference).")
        }
        return text
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int>) throws(JobFileError) -> Int? {
        guard let text = try string(key) else { return nil }
        guard let number = Int(text), range.contains(number) else {
            throw error(key, "must be a whole number from \(range.lowerBound) to \(range.upperBound), not `\(text)`")
        }
        return number
    }

    mutating func number(_ key: String, above minimum: Double) throws(JobFileError) -> Double? {
        guard let text = try string(key) else { return nil }
        guard let number = Double(text), number.isFinite, number > minimum else {
            throw error(key, "must be a number above \(minimum), not `\(text)`")
        }
        return number
    }

    mutating func bool(_ key: String) throws(JobFileError) -> Bool? {
        guard let text = try string(key) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(key, "must be true or false, not `\(text)`")
        }
    }

    mutating func duration(_ key: String) throws(JobFileError) -> Duration? {
        guard let text = try string(key) else { return nil }
        guard let duration = DurationText.parse(text) else {
            throw error(key, "must be a duration such as 500ms, 30s, 15m, 2h or 1d, not `\(text)`")
        }
        return duration
    }

    mutating func strings(_ key: String) throws(JobFileError) -> [String]? {
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

    /// The name of an environment variable. The value is never quoted in a message: it may be a credential
    /// written where its variable's name belongs.
    /// The name of an environment variable that holds a credential: `[A-Z_][A-Z0-9_]*`, as such variables are
    /// named. Anything else may be the credential itself pasted in the wrong place (`k7f9x2m4p8q1w3e5`): refused,
    /// and never repeated in a message, since a message about an unset variable would print it.
    mutating func variableName(_ key: String) throws(JobFileError) -> String? {
        guard let name = try string(key) else { return nil }
        let isUpperOrUnderscore = { (byte: UInt8) in byte == UInt8(ascii: "_") || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) }
        let valid = name.utf8.first.map(isUpperOrUnderscore) ?? false
            && name.utf8.allSatisfy { isUpperOrUnderscore($0) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) }
        guard valid else {
            throw error(key, "must name the environment variable that holds the credential (capital letters, digits and _, not starting with a digit, such as KPN_CLIENT_SECRET), not hold the credential itself; the value given is not repeated here. Export the credential in such a variable and name the variable")
        }
        return name
    }

    mutating func object(_ key: String) throws(JobFileError) -> YAMLObject? {
        guard let node = value(key) else { return nil }
        return try YAMLObject(node, path: qualified(key), file: file)
    }

    /// Fails on the first key that was never read, suggesting the known key it most resembles.
    func finish() throws(JobFileError) {
        if let unknown = entries.first(where: { !read.contains($0.key) }) {
            if let suggestion = Self.closest(to: unknown.key, among: read) {
                throw error(unknown.key, "is not a key batch-runner knows (a typo for `\(suggestion)`?)")
            }
            let known: [String] = read.sorted().map { "`\($0)`" }
            throw error(unknown.key, "is not a key batch-runner knows; the keys here are " + known.joined(separator: ", "))
        }
    }

    /// The known key a typo most likely meant, if one is close enough.
    private static func closest(to key: String, among known: Set<String>) -> String? {
        var best: (key: String, distance: Int)?
        for candidate in known.sorted() {
            let distance = editDistance(key.lowercased(), candidate)
            let allowed = max(1, min(3, candidate.count / 3))
            if distance <= allowed, distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        return best?.key
    }

    /// Levenshtein distance, for suggesting the key a typo meant.
    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
    }
}
