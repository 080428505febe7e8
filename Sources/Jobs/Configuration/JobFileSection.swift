/// A job kind's own section of the job file (`number_verify:`, `pim:`, `idscan:`): its key, the kinds it applies
/// to, its defaults (`init()`) and how it reads and checks its keys. The section lives beside its kind, in
/// `Kinds/<Kind>/`; ``JobFile`` only asks each section to read itself.
protocol JobFileSection {
    /// The section's key in the job file.
    static var key: String { get }
    /// The kinds it applies to; for others the section is refused, so a misplaced option is never ignored.
    static var kinds: [JobConfiguration.Kind] { get }
    /// The documented defaults.
    init()
    /// Reads the section's keys over the defaults.
    mutating func read(_ object: inout YAMLObject, kind: JobConfiguration.Kind) throws(JobFileError)
}

extension JobFileSection {
    /// The section in `root`, read for `kind`; its defaults when the file has none.
    static func read(from root: inout YAMLObject, kind: JobConfiguration.Kind) throws(JobFileError) -> Self {
        var section = Self()
        guard var object = try root.object(key) else { return section }
        guard kinds.contains(kind) else {
            let names = kinds.map(\.rawValue).joined(separator: " and ")
            throw root.error(key, "applies to kind\(kinds.count > 1 ? "s" : "") \(names) only")
        }
        try section.read(&object, kind: kind)
        try object.finish()
        return section
    }
}
