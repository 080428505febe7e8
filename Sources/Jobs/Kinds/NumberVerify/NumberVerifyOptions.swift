extension JobConfiguration {
    /// Options of the `number-verify` kind.
    public struct NumberVerifyOptions: Sendable, Equatable {
        /// Token scopes: `operator_lookup`, and `device_match` to poll for a device match. Default
        /// `[operator_lookup]`.
        public var scopes = ["operator_lookup"]
        /// How long to poll a device match before recording `pending`. Default 30 s.
        public var pollTimeout = Duration.seconds(30)
        /// The wait between polls. Default 2 s.
        public var pollInterval = Duration.seconds(2)

        public init() {}

        public var pollsDeviceMatch: Bool { scopes.contains("device_match") }
    }
}

extension JobConfiguration.NumberVerifyOptions: JobFileSection {
    static let key = "number_verify"
    static let kinds: [JobConfiguration.Kind] = [.numberVerify]

    mutating func read(_ object: inout YAMLObject, kind: JobConfiguration.Kind) throws(JobFileError) {
        if let scopes = try object.strings("scopes") {
            let allowed = ["operator_lookup", "device_match"]
            for scope in scopes where !allowed.contains(scope) {
                throw object.error("scopes", "`\(scope)` is not a scope a batch can use; use operator_lookup and optionally device_match")
            }
            guard scopes.contains("operator_lookup") else {
                throw object.error("scopes", "must include operator_lookup: it is what the results record")
            }
            self.scopes = scopes
        }
        pollTimeout = try object.duration("poll_timeout") ?? pollTimeout
        pollInterval = try object.duration("poll_interval") ?? pollInterval
        guard pollInterval > .zero else { throw object.error("poll_interval", "must be more than 0") }
    }
}
