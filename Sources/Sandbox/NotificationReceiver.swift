import Hummingbird
import HTTPTypes
import NIOCore
import Synchronization

/// A receiver for batch-runner's `notify.url` at `POST /_sandbox/notify`, so that the end-of-run notification can
/// be tried without a webhook service: it keeps what it received and answers as `notifyAnswer` says.
public final class NotificationReceiver: Sendable {
    /// One notification as it arrived.
    public struct Notification: Sendable {
        public var body: [UInt8]
        public var contentType: String?
        public var authorization: String?
    }

    private let received = Mutex<[Notification]>([])

    /// Everything received so far, in order.
    public var notifications: [Notification] { received.withLock { $0 } }

    func add(to router: Router<SandboxContext>, answer: SandboxConfiguration.NotifyAnswer) {
        router.post("/_sandbox/notify") { request, _ in
            let body = try await request.body.collect(upTo: 4 << 20)
            let notification = Notification(
                body: Array(body.readableBytesView), contentType: request.headers[.contentType],
                authorization: request.headers[.authorization]
            )
            self.received.withLock { $0.append(notification) }
            switch answer {
            case .accept: return Response(status: .noContent)
            case .refuse: return Response(status: .internalServerError)
            case .hang:
                try await Task.sleep(for: .seconds(300))
                return Response(status: .noContent)
            }
        }
    }
}
