/// The job kinds the runner knows: the one switch a new kind is added to (its type, its configuration section
/// and its sandbox routes live in a folder of their own).
extension JobConfiguration.Kind {
    /// The job that runs this kind with `configuration`.
    package func makeJob(_ configuration: JobConfiguration) -> any BatchJob {
        switch self {
        case .numberVerify: NumberVerifyJob(configuration: configuration)
        case .pimQR: PimQRJob(configuration: configuration)
        case .idscanReports: IDScanReportsJob(configuration: configuration)
        case .idscanCreate: IDScanCreateJob(configuration: configuration)
        }
    }
}
