import Foundation

/// `--restart` on a SQLite state that cannot be trusted: the state is moved aside, never deleted, and the run
/// starts over.
enum DamagedState {
    /// Renames the state and the files SQLite and the runner keep beside it to `<state>.damaged-<UTC time>...`;
    /// answers the new name of the database.
    ///
    /// - Throws: ``FileSystemError`` when it cannot be moved.
    static func moveAside(_ statePath: String, now: Date = Date()) throws(FileSystemError) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let aside = statePath + ".damaged-" + formatter.string(from: now)
        for suffix in ["", "-wal", "-shm", ".generation"] {
            let from = statePath + suffix
            guard FileManager.default.fileExists(atPath: from) else { continue }
            guard rename(from, aside + suffix) == 0 else {
                throw FileSystemError(path: from, "Cannot move the damaged state \(from) aside (\(String(cString: strerror(errno)))); move it away yourself, then run again.")
            }
        }
        return aside
    }

    /// The rows a results.csv lists as sent (status `ok` or `unknown`): for idscan-create, each is a transaction
    /// that starting over creates again. Nil when there is no readable results.csv.
    static func rowsSent(resultsCSV path: String) -> Int? {
        var statusColumn: Int?
        var sent = 0
        do {
            _ = try ManifestReader(path: path, delimiter: UInt8(ascii: ",")).read(
                onHeader: { statusColumn = $0.firstIndex(of: "status") },
                onRow: { _, record in
                    guard let column = statusColumn, column < record.fieldCount else { return }
                    let status = String(decoding: record.field(column), as: UTF8.self)
                    if status == "ok" || status == "unknown" { sent += 1 }
                }
            )
        } catch {
            return nil
        }
        return statusColumn == nil ? nil : sent
    }
}
