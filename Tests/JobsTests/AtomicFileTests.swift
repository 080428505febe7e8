import Foundation
import Testing

@testable import Jobs

/// Files the runner writes are replaced whole, through a temporary file no one else can aim.
@Suite struct AtomicFileTests {
    @Test func aSymbolicLinkAtTheOldPredictableTemporaryNameIsNotFollowed() throws {
        let folder = try TemporaryFiles.folder()
        let victim = folder + "/victim.txt"
        try "keep me".write(toFile: victim, atomically: true, encoding: .utf8)
        // Earlier versions wrote `.<name>.tmp-<pid>`, opened with O_CREAT|O_TRUNC: a link planted there was followed.
        try FileManager.default.createSymbolicLink(atPath: folder + "/.results.csv.tmp-\(getpid())", withDestinationPath: victim)
        try AtomicFile.write(path: folder + "/results.csv", bytes: Array("row\n1\n".utf8))
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep me")
        #expect(try String(contentsOfFile: folder + "/results.csv", encoding: .utf8) == "row\n1\n")
        let type = try FileManager.default.attributesOfItem(atPath: folder + "/results.csv")[.type] as? FileAttributeType
        #expect(type == .typeRegular)
    }

    @Test func writesLeaveNoTemporaryFileAndAreOwnerOnly() throws {
        let folder = try TemporaryFiles.folder()
        for text in ["one", "two"] { try AtomicFile.write(path: folder + "/summary.json", bytes: Array(text.utf8)) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["summary.json"])
        let mode = try FileManager.default.attributesOfItem(atPath: folder + "/summary.json")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try String(contentsOfFile: folder + "/summary.json", encoding: .utf8) == "two")
    }
}

extension AtomicFileTests {
    /// A link planted where the output goes is replaced by the new file; what it pointed at is never written.
    @Test func aLinkAtTheTargetIsReplacedNotFollowed() throws {
        let folder = try TemporaryFiles.folder()
        let victim = folder + "/victim.txt"
        try "precious".write(toFile: victim, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: folder + "/results.csv", withDestinationPath: victim)
        try AtomicFile.write(path: folder + "/results.csv", bytes: Array("row\n".utf8))
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious")
        var status = stat()
        #expect(lstat(folder + "/results.csv", &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG)
    }

    /// A body that fails leaves neither the target nor a temporary file behind.
    @Test func aFailedWriteLeavesNothingBehind() throws {
        struct Failure: Error {}
        let folder = try TemporaryFiles.folder()
        #expect(throws: Failure.self) {
            try AtomicFile.write(path: folder + "/results.csv") { file in
                file.append("partial")
                throw Failure()
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
    }
}
