/// The shared ledger's learner as saved. A learner another release wrote (its fields differ from this one's) is not
/// lost whole: its learned rate and window are restored and the rest starts over, so a campaign upgraded between
/// two nights is still paced from its first grant instead of slow-starting into the gateway again.
@propertyWrapper
struct SavedLearner: Sendable, Equatable, Codable {
    var wrappedValue: AdaptiveRate<ServerInstant>

    init(wrappedValue: AdaptiveRate<ServerInstant>) {
        self.wrappedValue = wrappedValue
    }

    init(from decoder: any Decoder) throws {
        if let learner = try? AdaptiveRate<ServerInstant>(from: decoder) {
            wrappedValue = learner
            return
        }
        /// What every release's learner saved under these names.
        struct Learned: Decodable {
            var ratePerSecond: Double?
            var learnedWindow: Duration?
        }
        var learner = AdaptiveRate<ServerInstant>()
        if let learned = try? Learned(from: decoder), let rate = learned.ratePerSecond {
            learner.restore(ratePerSecond: rate, window: learned.learnedWindow)
        }
        wrappedValue = learner
    }

    func encode(to encoder: any Encoder) throws {
        try wrappedValue.encode(to: encoder)
    }
}
