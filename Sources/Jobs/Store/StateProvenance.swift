package import Foundation

/// What made a state and where its results came from: the job (kind, the settings that decide how rows are read,
/// the job file and manifest as given) and the origins (scheme, host, port) of the endpoints it sent to, or the
/// embedded sandbox. A run of another job, or one that sends elsewhere, must not take these results for its own.
package struct StateProvenance: Codable, Sendable, Equatable {
    package var kind: String
    /// The job's ``BatchJob/intakeSettings`` (kind, columns, options that decide how rows are read), as
    /// ``IntakeSettings/stored`` writes it (an earlier release's text in a state that release made).
    package var rowSettings: String
    package var jobFile: String
    package var manifest: String
    /// `https://api-prd.kpn.com:443`, one per endpoint origin, sorted; empty for the embedded sandbox.
    package var origins: [String]
    /// Whether the results came from the embedded sandbox (`run --sandbox`), whose port changes every run.
    package var sandbox: Bool

    enum CodingKeys: String, CodingKey {
        case kind, manifest, origins, sandbox
        case rowSettings = "row_settings"
        case jobFile = "job_file"
    }

    package init(kind: String, rowSettings: String, jobFile: String, manifest: String, origins: [String], sandbox: Bool) {
        (self.kind, self.rowSettings, self.jobFile, self.manifest) = (kind, rowSettings, jobFile, manifest)
        (self.origins, self.sandbox) = (origins, sandbox)
    }

    /// `scheme://host:port` of each endpoint URL (the port made explicit), sorted and without repeats.
    package static func origins(of urls: [String]) -> [String] {
        Set(urls.compactMap { url -> String? in
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host else { return nil }
            let port = components.port ?? (scheme == "https" ? 443 : 80)
            return "\(scheme)://\(HostNames.authority(host.lowercased(), port: port))"
        }).sorted()
    }

    /// Where the results come from, as kept answers are keyed: `sandbox`, or the origins separated by spaces.
    package var sourceKey: String { sandbox ? "sandbox" : origins.joined(separator: " ") }

    /// Where the results come from, for messages: `the embedded sandbox` or `https://api-prd.kpn.com:443`.
    package var source: String { sandbox ? "the embedded sandbox" : origins.joined(separator: " and ") }

    /// Whether this recorded provenance was made by the `current` job (kind and row settings, compared as
    /// ``IntakeSettings``, an earlier release's form included); the job file and manifest may move.
    package func isSameJob(as current: StateProvenance) -> Bool {
        kind == current.kind && settingsChanges(from: current) == .same
    }

    /// How the `current` job's row settings differ from those recorded here.
    package func settingsChanges(from current: StateProvenance) -> IntakeSettings.Comparison {
        IntakeSettings.compare(recorded: rowSettings, current: current.rowSettings)
    }

    /// Whether results recorded under `other` came from where this job sends.
    package func isSameSource(as other: StateProvenance) -> Bool {
        sandbox == other.sandbox && (sandbox || origins == other.origins)
    }

    package var json: String { String(decoding: (try? JSONEncoder().encode(self)) ?? Data(), as: UTF8.self) }

    package init?(json: String) {
        guard let decoded = try? JSONDecoder().decode(StateProvenance.self, from: Data(json.utf8)) else { return nil }
        self = decoded
    }
}
