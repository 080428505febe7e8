/// The exit statuses of a run that got to its end (``JobError/Code`` covers the ones that did not).
public enum ExitStatus {
    /// Every accepted row is ok.
    public static let success: Int32 = 0
    /// The run finished, and some rows failed (see results.csv).
    public static let someRowsFailed: Int32 = 3
}
