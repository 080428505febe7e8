package import Foundation

/// The processes of this machine as parent and children, read from `/proc/<pid>/stat`: for stopping a test's
/// child with everything it started, and for finding a server's processes.
package enum ProcessTree {
    /// `pid`'s children, grandchildren and so on (not `pid` itself).
    package static func descendants(of pid: pid_t) -> [pid_t] {
        let parents = parentsByProcess()
        var family = [pid]
        var index = 0
        while index < family.count {
            family += parents.filter { $0.value == family[index] }.map(\.key)
            index += 1
        }
        return Array(family.dropFirst())
    }

    /// The direct children of `pid`.
    package static func children(of pid: pid_t) -> [pid_t] {
        parentsByProcess().filter { $0.value == pid }.map(\.key)
    }

    /// SIGKILL to `pid` and every process below it, all found before any is killed (an orphan moves to init, and
    /// one left alive would hold its parent's output pipes open).
    package static func kill(_ pid: pid_t) {
        for member in [pid] + descendants(of: pid) { Foundation.kill(member, SIGKILL) }
    }

    private static func parentsByProcess() -> [pid_t: pid_t] {
        var parents: [pid_t: pid_t] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // Fields after the command: state, then the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = pid_t(fields[1]) { parents[pid] = parent }
        }
        return parents
    }
}
