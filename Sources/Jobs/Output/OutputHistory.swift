import Foundation

/// The outputs of earlier campaigns of a recurring job (`on_new_manifest: start_over`), each moved as it was into
/// `<output>/history/<UTC time>/` (`20261206T031500Z`) before a new campaign starts: results.csv, rejects.csv,
/// summary.json and the saved files' folders (`qr/`, `reports/`, `images/`). The metrics file is not an output.
///
/// Each archive holds a marker file (`.batch-runner-archive`); pruning deletes only such folders of this program's
/// naming, never anything else an operator keeps there.
struct OutputHistory {
    let outputFolder: String
    /// The job's saved files' folders (`qr`, `reports`, `images`).
    let subfolders: [String]

    static let marker = ".batch-runner-archive"
    static let files = ["results.csv", "rejects.csv", "summary.json"]

    var folder: String { outputFolder + "/history" }

    /// Moves the outputs into a new archive named after `date`; answers its path, or nil when there were none.
    ///
    /// - Throws: ``FileSystemError`` when the archive cannot be made or an output cannot be moved (74).
    func archive(at date: Date) throws(FileSystemError) -> String? {
        let present = (Self.files + subfolders).filter { FileStatus.ofLink(outputFolder + "/" + $0) != .missing }
        guard !present.isEmpty else { return nil }
        var archive = folder + "/" + Self.name(of: date)
        var suffix = 1
        while FileStatus.ofLink(archive) != .missing {
            suffix += 1
            archive = folder + "/" + Self.name(of: date) + "-\(suffix)"
        }
        do {
            try FileManager.default.createDirectory(atPath: archive, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            FileManager.default.createFile(atPath: archive + "/" + Self.marker, contents: Data())
        } catch {
            throw FileSystemError(path: archive, "Cannot make the archive \(archive) of the previous campaign's outputs (\(error.localizedDescription)); check that \(outputFolder) is writable.")
        }
        for name in present where rename(outputFolder + "/" + name, archive + "/" + name) != 0 {
            throw FileSystemError(path: outputFolder + "/" + name, "Cannot move \(outputFolder)/\(name) into \(archive) (\(String(cString: strerror(errno)))); check the output folder's permissions.")
        }
        return archive
    }

    /// Deletes the oldest archives beyond `keep`, only folders this program made; answers how many.
    @discardableResult
    func prune(keeping keep: Int) -> Int {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { name in
            Self.isArchiveName(name) && FileStatus.ofLink(folder + "/" + name) == .directory
                && FileStatus.ofLink(folder + "/" + name + "/" + Self.marker) == .regular
        }.sorted()
        var removed = 0
        for name in names.dropLast(keep) where (try? FileManager.default.removeItem(atPath: folder + "/" + name)) != nil {
            removed += 1
        }
        return removed
    }

    /// `20261206T031500Z` for `date` in UTC.
    static func name(of date: Date) -> String {
        // `2026-12-06T03:15:00.000Z` without its separators and milliseconds.
        WallClock.iso8601(epochSeconds: date.timeIntervalSince1970).prefix(19).filter { $0 != "-" && $0 != ":" } + "Z"
    }

    /// Whether `name` is one this program gives an archive: `20261206T031500Z`, maybe with `-2`, `-3`, ...
    static func isArchiveName(_ name: String) -> Bool {
        let parts = name.split(separator: "-", maxSplits: 1)
        guard let stamp = parts.first, stamp.count == 16, stamp.utf8.enumerated().allSatisfy({ index, byte in
            switch index {
            case 8: byte == UInt8(ascii: "T")
            case 15: byte == UInt8(ascii: "Z")
            default: byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            }
        }) else { return false }
        return parts.count == 1 || parts[1].allSatisfy(\.isNumber)
    }
}
