import SystemPackage

/// What kind of file a path or descriptor is, from stat(2) (swift-system's `Stat`).
enum FileStatus: Equatable {
    case missing
    case regular
    case directory
    case symbolicLink
    case other

    /// The kind of `path` itself: a symbolic link at its end is not followed.
    static func ofLink(_ path: String) -> FileStatus { FileStatus(try? Stat(FilePath(path), followTargetSymlink: false)) }

    /// The kind of what `path` leads to.
    static func of(_ path: String) -> FileStatus { FileStatus(try? Stat(FilePath(path))) }

    /// The kind of an open descriptor.
    static func of(descriptor: Int32) -> FileStatus { FileStatus(try? FileDescriptor(rawValue: descriptor).stat()) }

    /// The size of an open descriptor's file, or nil when it cannot be read.
    static func size(descriptor: Int32) -> Int64? { (try? FileDescriptor(rawValue: descriptor).stat())?.size }

    /// Whether users other than the owner may write what `path` leads to.
    static func isWritableByOthers(_ path: String) -> Bool {
        guard let status = try? Stat(FilePath(path)) else { return false }
        return !status.permissions.isDisjoint(with: [.groupWrite, .otherWrite])
    }

    /// Missing when stat(2) failed.
    private init(_ status: Stat?) {
        guard let status else {
            self = .missing
            return
        }
        switch status.type {
        case .regular: self = .regular
        case .directory: self = .directory
        case .symbolicLink: self = .symbolicLink
        default: self = .other
        }
    }
}
