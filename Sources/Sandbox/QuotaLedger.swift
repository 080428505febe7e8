import Synchronization

/// Counts each client's calls against the quota, in fixed windows that start at the first call after the last
/// window ended (Apigee's flexible quota), and runs the optional header-less limits: a spike arrest, a sliding
/// window, a token bucket.
final class QuotaLedger: Sendable {
    /// The verdict on one call.
    enum Verdict: Sendable {
        /// Counted; the window after counting it.
        case allowed(Window?)
        /// Over the quota or the spike arrest; not counted.
        case limited(Window?, retryAfterSeconds: Double)
    }

    struct Window: Sendable {
        var limit: Int
        var used: Int
        var quota: SandboxConfiguration.Quota
        var resetEpoch: Double
    }

    private struct ClientState {
        var windowStart: Double?
        var used = 0
        var lastSpikeArrestCall: Double?
        /// The sliding window's admitted calls, oldest first.
        var admitted: [Double] = []
        /// The token bucket's theoretical arrival time (GCRA).
        var bucketArrival = -Double.infinity
    }

    private let quota: SandboxConfiguration.Quota?
    private let spikeArrestPerMinute: Int?
    private let slidingWindow: (limit: Int, seconds: Double)?
    private let tokenBucket: (rate: Double, burst: Int)?
    private let clients = Mutex<[String: ClientState]>([:])

    init(_ configuration: SandboxConfiguration) {
        quota = configuration.quota
        spikeArrestPerMinute = configuration.spikeArrestPerMinute
        slidingWindow = configuration.slidingWindow
        tokenBucket = configuration.tokenBucket
    }

    /// Ends every client's window, as a provider does when it raises or resets a quota.
    func resetWindows() {
        clients.withLock { $0.removeAll() }
    }

    /// Judges and, when allowed, counts a call by `client` at server time `now`.
    func admit(client: String, now: Double) -> Verdict {
        clients.withLock { clients in
            var state = clients[client] ?? ClientState()
            defer { clients[client] = state }
            var window: Window?
            if let quota {
                if let start = state.windowStart, now >= start + quota.windowSeconds {
                    state.windowStart = nil
                    state.used = 0
                }
                let start = state.windowStart ?? now
                window = Window(limit: quota.limit, used: state.used, quota: quota, resetEpoch: start + quota.windowSeconds)
                if state.used >= quota.limit {
                    return .limited(window, retryAfterSeconds: start + quota.windowSeconds - now)
                }
            }
            if let perMinute = spikeArrestPerMinute, perMinute > 0 {
                let spacing = 60 / Double(perMinute)
                if let last = state.lastSpikeArrestCall, now - last < spacing {
                    return .limited(window, retryAfterSeconds: spacing - (now - last))
                }
                state.lastSpikeArrestCall = now
            }
            if let (limit, seconds) = slidingWindow {
                state.admitted.removeAll { $0 <= now - seconds }
                if state.admitted.count >= limit {
                    return .limited(window, retryAfterSeconds: state.admitted[0] + seconds - now)
                }
                state.admitted.append(now)
            }
            if let (rate, burst) = tokenBucket {
                let interval = 1 / rate
                let arrival = max(state.bucketArrival, now)
                let tolerance = Double(max(burst, 1) - 1) * interval
                if arrival - tolerance > now {
                    return .limited(window, retryAfterSeconds: arrival - tolerance - now)
                }
                state.bucketArrival = arrival + interval
            }
            if quota != nil {
                if state.windowStart == nil { state.windowStart = now }
                state.used += 1
                window?.used = state.used
                window?.resetEpoch = state.windowStart! + quota!.windowSeconds
            }
            return .allowed(window)
        }
    }

    /// The client's window as it stands, without counting a call (for answers that are not counted).
    func peek(client: String, now: Double) -> Window? {
        guard let quota else { return nil }
        return clients.withLock { clients in
            let state = clients[client] ?? ClientState()
            guard let start = state.windowStart, now < start + quota.windowSeconds else {
                return Window(limit: quota.limit, used: 0, quota: quota, resetEpoch: now + quota.windowSeconds)
            }
            return Window(limit: quota.limit, used: state.used, quota: quota, resetEpoch: start + quota.windowSeconds)
        }
    }
}
