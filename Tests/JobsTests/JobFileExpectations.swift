import Testing

@testable import Jobs

/// Parses job file `text` as if read from `path`, expecting a configuration error (78) whose message holds every
/// fragment.
func expectJobFileError(_ text: String, path: String, containing fragments: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try JobFile.parse(text, path: path)
        Issue.record("expected a job file error for:\n\(text)", sourceLocation: sourceLocation)
    } catch {
        #expect(ExitTable.jobError(for: error).code == .configuration, sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(error.message.contains(fragment), "\(error.message)", sourceLocation: sourceLocation)
        }
    }
}
