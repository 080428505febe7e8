/// Why a service's answer is not the documented JSON: the first field whose JSON type is wrong. A row whose answer
/// has one fails naming the field, never records blanks as if the service had answered them.
package struct AnswerShapeError: Error, Equatable, Sendable {
    /// Where the field is, as a path (`operator_lookup.mcc`, `tasks[0].files[1].url`).
    package var field: String
    /// The type found (`an object`, `true or false`).
    package var found: String
    /// The types the documentation allows (`text or a number`).
    package var expected: String

    package var description: String { "`\(field)` is \(found) where the documented answer has \(expected)" }
}

/// The JSON types an answer's field may have.
package struct JSONKinds: OptionSet, Sendable {
    package let rawValue: UInt8
    package init(rawValue: UInt8) { self.rawValue = rawValue }

    package static let object = JSONKinds(rawValue: 1)
    package static let array = JSONKinds(rawValue: 2)
    package static let string = JSONKinds(rawValue: 4)
    package static let number = JSONKinds(rawValue: 8)
    package static let bool = JSONKinds(rawValue: 16)

    var description: String {
        let names: [(JSONKinds, String)] = [(.object, "an object"), (.array, "a list"), (.string, "text"), (.number, "a number"), (.bool, "true/false")]
        let allowed = names.filter { contains($0.0) }.map(\.1)
        return allowed.count < 2 ? allowed.joined() : allowed.dropLast().joined(separator: ", ") + " or " + allowed[allowed.count - 1]
    }
}

extension JSONValue {
    /// The kind of this value, as a message says it.
    var kindDescription: String {
        switch self {
        case .object: "an object"
        case .array: "a list"
        case .string: "text"
        case .number: "a number"
        case .bool: "true or false"
        case .null: "null"
        }
    }

    private var kind: JSONKinds {
        switch self {
        case .object: .object
        case .array: .array
        case .string: .string
        case .number: .number
        case .bool: .bool
        case .null: []
        }
    }

    /// This value when its kind is one of `allowed`; nil for null.
    ///
    /// - Throws: ``AnswerShapeError`` naming `path` when it is of another kind.
    package func checked(_ allowed: JSONKinds, at path: String) throws(AnswerShapeError) -> JSONValue? {
        if case .null = self { return nil }
        guard allowed.contains(kind) else { throw AnswerShapeError(field: path, found: kindDescription, expected: allowed.description) }
        return self
    }

    /// The member `key` of this object when its kind is one of `allowed`; nil when absent or null.
    ///
    /// - Throws: ``AnswerShapeError`` naming `path.key` when it is of another kind.
    package func member(_ key: String, _ allowed: JSONKinds, in path: String = "") throws(AnswerShapeError) -> JSONValue? {
        try self[key]?.checked(allowed, at: path.isEmpty ? key : path + "." + key)
    }

    /// The member `key` as text (a string, or a number as written when `allowed` has numbers); nil when absent or
    /// null.
    package func text(_ key: String, _ allowed: JSONKinds = .string, in path: String = "") throws(AnswerShapeError) -> String? {
        switch try member(key, allowed, in: path) {
        case .string(let text)?, .number(let text)?: text
        case .bool(let value)?: value ? "true" : "false"
        default: nil
        }
    }

    /// The elements of an array; empty for other values.
    package var elements: [JSONValue] {
        if case .array(let elements) = self { return elements }
        return []
    }
}
