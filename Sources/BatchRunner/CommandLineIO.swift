import Foundation
import Jobs

/// `path` made absolute against the current folder (command-line paths are relative to it, job file paths to
/// the job file).
func absolutePath(_ path: String) -> String {
    let cwd = FileManager.default.currentDirectoryPath
    return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: cwd + "/")).standardizedFileURL.path
}

/// `--state`: a path made absolute, or a database URL as it is.
func absoluteState(_ state: String) -> String {
    StoreLocation.urlScheme(of: state) == nil ? absolutePath(state) : state
}

/// Prints `value` as pretty, key-sorted JSON on stdout (`--json` of `status` and `validate`).
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
