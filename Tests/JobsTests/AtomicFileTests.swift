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
