import CFileStatus

/// What kind of file a path or descriptor is, from stat(2) (through `CFileStatus`).
enum FileStatus: Equatable {
    case missing
    case regular
    case directory
    case symbolicLink
    case other

    /// The kind of `path` itself: a symbolic link at its end is not followed.
    static func ofLink(_ path: String) -> FileStatus { FileStatus(batch_runner_link_kind(path)) }

    /// The kind of what `path` leads to.
    static func of(_ path: String) -> FileStatus { FileStatus(batch_runner_path_kind(path)) }

    /// The kind of an open descriptor.
    static func of(descriptor: Int32) -> FileStatus { FileStatus(batch_runner_descriptor_kind(descriptor)) }

    /// The size of an open descriptor's file, or nil when it cannot be read.
    static func size(descriptor: Int32) -> Int64? {
        let size = batch_runner_descriptor_size(descriptor)
        return size < 0 ? nil : Int64(size)
    }

    /// Whether users other than the owner may write what `path` leads to.
    static func isWritableByOthers(_ path: String) -> Bool { batch_runner_writable_by_others(path) != 0 }

    private init(_ kind: Int32) {
        switch Int(kind) {
        case BATCH_RUNNER_REGULAR: self = .regular
        case BATCH_RUNNER_DIRECTORY: self = .directory
        case BATCH_RUNNER_LINK: self = .symbolicLink
        case BATCH_RUNNER_MISSING: self = .missing
        default: self = .other
        }
    }
}
