import Foundation
import Logging

/// The output folder, checked before the first request: it exists (made 0700 when missing), it and the
/// subfolders the job writes (`qr/`, `reports/`, `images/`) can be written, and none of those subfolders is a
/// symbolic link or a file. The runner deletes files in them (a killed row's leftovers), so a subfolder that
/// leads elsewhere, a compliance drive say, is refused rather than followed.
///
/// The output folder itself may be a symbolic link: it is resolved once, here, and the run writes to the
/// folder it led to then.
struct OutputFolder {
    /// The resolved path.
    let path: String

    /// Checks `path` and its `subfolders`; answers the resolved folder.
    ///
    /// - Throws: ``FileSystemError`` naming the folder and the system's reason (exit 74).
    static func prepare(_ path: String, subfolders: [String], logger: Logger) throws(FileSystemError) -> OutputFolder {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw FileSystemError(path: path, "Cannot create the output folder \(path) (\(Self.reason(of: error))); make its parent writable, or point `output` elsewhere.")
        }
        guard let resolved = realpath(path, nil) else {
            throw FileSystemError(path: path, "Cannot resolve the output folder \(path) (\(String(cString: strerror(errno)))).")
        }
        let folder = String(cString: resolved)
        free(resolved)
        guard FileStatus.of(folder) == .directory else {
            throw FileSystemError(path: path, "The output folder \(path) is not a folder; point `output` at a folder.")
        }
        if FileStatus.isWritableByOthers(folder) {
            logger.warning(
                "the output folder can be written by other users, who could plant files or links in it; make it writable by its owner only (chmod go-w)",
                metadata: ["output": "\(folder)"]
            )
        }
        try probeWrite(in: folder, shownAs: path)
        for name in subfolders {
            let subfolder = folder + "/" + name
            let kind = FileStatus.ofLink(subfolder)
            guard kind != .missing else { continue }  // made when the first file is written
            if kind == .symbolicLink {
                throw FileSystemError(path: subfolder, "\(path)/\(name) is a symbolic link. batch-runner writes there and deletes the files it left there itself, so it must be a real folder inside the output folder: remove the link, or point `output` at a folder on the drive it led to.")
            }
            guard kind == .directory else {
                throw FileSystemError(path: subfolder, "\(path)/\(name) is not a folder; batch-runner writes its files there. Move it away and run again.")
            }
            try probeWrite(in: subfolder, shownAs: path + "/" + name)
        }
        return OutputFolder(path: folder)
    }

    /// Creates and removes a file in `folder`, so a folder that cannot be written is found before any request.
    private static func probeWrite(in folder: String, shownAs name: String) throws(FileSystemError) {
        let probe = folder + "/.batch-runner-probe-\(getpid())-\(UInt32.random(in: .min ... .max))"
        let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw FileSystemError(path: folder, "Cannot write in \(name) (\(String(cString: strerror(errno)))); make it writable, or point `output` elsewhere. No request was sent.")
        }
        close(descriptor)
        unlink(probe)
    }

    private static func reason(of error: any Error) -> String {
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
        return underlying.map { String(cString: strerror(Int32($0.code))) } ?? error.localizedDescription
    }
}
