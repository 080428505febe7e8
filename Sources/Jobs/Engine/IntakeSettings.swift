package import Foundation

/// The settings that decide how a job reads its rows (its kind, the columns, the options that shape every row),
/// recorded in its state: a run whose settings differ does not resume that state (`--restart` starts over).
///
/// A typed, versioned value compared setting by setting, never as text: rewording how a setting is written cannot
/// make an existing state refuse to resume, and a refusal names the settings that changed. The state keeps it as
/// canonical JSON (``stored``), readable by whoever audits a state; it is not hashed, since it holds column names
/// and job options, no personal data or secret, and a hash could not say what changed. States made before release
/// 0.10 hold the text form `kind;name=value;...`, which ``previousReleaseText`` still writes exactly: that function
/// is frozen, as a migration is (those states are compared against it).
package struct IntakeSettings: Sendable, Equatable {
    /// The format of ``stored``: raised only when a setting's meaning changes (then a state of the earlier version
    /// needs a comparison of its own here).
    package static let version = 1

    package let kind: String
    /// Each setting's name and value, in the order the kind lists them.
    package let settings: [(name: String, value: String)]

    package init(kind: String, _ settings: KeyValuePairs<String, String>) {
        self.kind = kind
        self.settings = settings.map { ($0.key, $0.value) }
    }

    private init(kind: String, settings: [(name: String, value: String)]) {
        (self.kind, self.settings) = (kind, settings)
    }

    package static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.kind == rhs.kind && lhs.values == rhs.values
    }

    /// The value of the setting `name`, if the kind has it.
    package subscript(name: String) -> String? { settings.last { $0.name == name }?.value }

    private var values: [String: String] { Dictionary(settings, uniquingKeysWith: { _, last in last }) }

    /// What a state records: `{"kind":...,"settings":[[name,value],...],"version":1}`, keys sorted.
    package var stored: String {
        let form = StoredForm(version: Self.version, kind: kind, settings: settings.map { [$0.name, $0.value] })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(form)) ?? Data(), as: UTF8.self)
    }

    /// The text form the releases before 0.10 recorded. Frozen: states made by those releases compare against it.
    package var previousReleaseText: String {
        ([kind] + settings.map { "\($0.name)=\($0.value)" }).joined(separator: ";")
    }

    /// How these settings compare with those a state recorded (in either form).
    package enum Comparison: Equatable, Sendable {
        case same
        /// They differ in these settings (`name: was "old", now "new"`); empty when the recorded form does not say
        /// which (another kind, another version, or a text form that does not read back).
        case changed([String])
    }

    /// Compares the settings a state recorded with a job's current ``stored`` form, both as provenance keeps them.
    package static func compare(recorded: String, current: String) -> Comparison {
        guard let now = IntakeSettings(stored: current) else { return recorded == current ? .same : .changed([]) }
        return now.compared(with: recorded)
    }

    /// Compares with `recorded`, what a state holds: the JSON of ``stored`` or an earlier release's text.
    package func compared(with recorded: String) -> Comparison {
        if let earlier = Self(stored: recorded) { return compared(with: earlier) }
        if recorded == previousReleaseText { return .same }
        return Self(previousReleaseText: recorded, names: settings.map(\.name)).map { compared(with: $0) } ?? .changed([])
    }

    private func compared(with earlier: IntakeSettings) -> Comparison {
        guard earlier.kind == kind else { return .changed([]) }
        let before = earlier.values
        let now = values
        let names = settings.map(\.name) + earlier.settings.map(\.name).filter { now[$0] == nil }
        let changes = names.filter { before[$0] != now[$0] }.map { name in
            "\(name): was \(before[name].map { "\"\($0)\"" } ?? "not set"), now \(now[name].map { "\"\($0)\"" } ?? "not set")"
        }
        return changes.isEmpty ? .same : .changed(changes)
    }

    /// Reads ``stored``; nil for anything else (an earlier release's text, another version).
    private init?(stored: String) {
        guard stored.hasPrefix("{"), let form = try? JSONDecoder().decode(StoredForm.self, from: Data(stored.utf8)),
            form.version == Self.version, form.settings.allSatisfy({ $0.count == 2 })
        else { return nil }
        self.init(kind: form.kind, settings: form.settings.map { ($0[0], $0[1]) })
    }

    /// Reads an earlier release's text when it splits into exactly the settings `names` (a value holding `;name=`
    /// does not read back, and the comparison then cannot say which setting changed).
    private init?(previousReleaseText text: String, names: [String]) {
        var parts = text.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        guard !parts.isEmpty else { return nil }
        let kind = parts.removeFirst()
        let pairs = parts.compactMap { part -> (String, String)? in
            guard let equals = part.firstIndex(of: "=") else { return nil }
            return (String(part[..<equals]), String(part[part.index(after: equals)...]))
        }
        guard pairs.count == parts.count, pairs.map(\.0) == names else { return nil }
        self.init(kind: kind, settings: pairs.map { (name: $0.0, value: $0.1) })
    }

    private struct StoredForm: Codable {
        var version: Int
        var kind: String
        var settings: [[String]]
    }
}
