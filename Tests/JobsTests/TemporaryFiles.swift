import Foundation

/// Files and folders for one test, under the system's temporary folder.
enum TemporaryFiles {
    static func folder() throws -> String {
        let path = NSTemporaryDirectory() + "batch-runner-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func write(_ bytes: [UInt8], name: String = "manifest.csv") throws -> String {
        let path = try folder() + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}
