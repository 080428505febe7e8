/// This build's version: `batch-runner --version`, `runner_version` in summary.json, the `User-Agent` header.
/// Kept here and nowhere else; raise it with every release (the Debian package takes it from here).
public enum RunnerVersion {
    public static let current = "0.10.0"
    /// The `User-Agent` of every request.
    package static let userAgent = "batch-runner/\(current)"
}
