import Foundation
public import Hummingbird
import HTTPTypes
public import Logging
import NIOCore
public import ServiceLifecycle

/// An emulation of the three APIs batch-runner calls (Number Verify, PiM ID, ID Scan) at their production paths
/// under one loopback host, with the gateway's quota headers, 429s, token expiry and injected faults.
///
/// ```swift
/// let sandbox = Sandbox(configuration: SandboxConfiguration())
/// try await sandbox.run(host: "127.0.0.1", port: 0) { port in print("listening on \(port)") }
/// ```
public final class Sandbox: Sendable {
    public let configuration: SandboxConfiguration
    /// Every request the sandbox answered, counted.
    public let log: RequestLog
    /// What `POST /_sandbox/notify` received.
    public let notifications = NotificationReceiver()
    let tokens: TokenIssuer
    let ledger: QuotaLedger
    let openCalls = OpenCalls()
    let faults: FaultInjector
    let pollingSessions = PollingSessions()
    let idscanTransactions = IDScanTransactions()
    let wallClock: @Sendable () -> Double

    /// - Parameters:
    ///   - configuration: What the sandbox emulates.
    ///   - wallClock: The server's clock, seconds since 1970 (the system's when nil); tests pass a fixed one so
    ///     that token lifetimes and expiry dates do not depend on how fast the machine runs.
    public init(configuration: SandboxConfiguration, wallClock: (@Sendable () -> Double)? = nil) {
        self.configuration = configuration
        self.wallClock = wallClock ?? { Date().timeIntervalSince1970 }
        self.log = RequestLog(path: configuration.requestLogPath)
        self.tokens = TokenIssuer(lifetimeSeconds: configuration.tokenLifetimeSeconds)
        self.ledger = QuotaLedger(configuration)
        self.faults = FaultInjector(seed: configuration.seed)
    }

    /// Ends every client's quota window now, as a provider does when it raises or resets a quota.
    public func resetQuotaWindows() {
        ledger.resetWindows()
    }

    /// The sandbox's routes, for `Application` or Hummingbird's router test mode.
    public func makeRouter() -> Router<SandboxContext> {
        let router = Router(context: SandboxContext.self)
        addGatewayTokenRoutes(to: router)
        addNumberVerifyRoutes(to: router)
        addPimRoutes(to: router)
        addIDScanRoutes(to: router)
        notifications.add(to: router, answer: configuration.notifyAnswer)
        router.get("/_sandbox/stats") { _, _ in
            let data = try JSONEncoder().encode(self.log.snapshot)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        return router
    }

    /// Serves until the calling task is cancelled.
    ///
    /// - Parameters:
    ///   - host: The address to bind; loopback by default.
    ///   - port: The port, 0 for any free one.
    ///   - onRunning: Called with the bound port once the server accepts connections.
    public func run(
        host: String = "127.0.0.1",
        port: Int = 0,
        logger: Logger = Logger(label: "sandbox", factory: { _ in SwiftLogNoOpLogHandler() }),
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        try await service(host: host, port: port, logger: logger, onRunning: onRunning).run()
    }

    /// The sandbox as a service for a `ServiceGroup`: it serves until the group shuts it down gracefully
    /// (answering the requests in flight) or cancels it. Parameters as for ``run(host:port:logger:onRunning:)``.
    ///
    /// - Throws: When ``SandboxConfiguration/tls`` names a certificate or key that cannot be read.
    public func service(
        host: String = "127.0.0.1",
        port: Int = 0,
        logger: Logger = Logger(label: "sandbox", factory: { _ in SwiftLogNoOpLogHandler() }),
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some Service {
        Application(
            router: makeRouter(),
            server: try SandboxServer.builder(tls: configuration.tls, log: log),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }

    // MARK: The gateway's pipeline

    /// The server's clock, seconds since 1970.
    var now: Double { wallClock() }

    /// How ``gateway(_:context:endpoint:subject:authentication:handler:)`` checks the caller.
    enum Authentication {
        /// The gateway's bearer tokens (Number Verify, PiM ID); refusals are Apigee faults.
        case gatewayToken
        /// ID Scan's HS256 JWTs, signed with `idscanSecret` under `idscanKeyID`; refusals are ID Scan errors.
        case idscanJWT
    }

    /// Runs an API call through the gateway: authentication, quota, fault injection, latency; then `handler`.
    func gateway(
        _ request: Request,
        context: SandboxContext,
        endpoint: String,
        subject: String?,
        authentication: Authentication = .gatewayToken,
        handler: (TokenIssuer.Grant) async throws -> (status: HTTPResponse.Status, body: ByteBuffer, contentType: String)
    ) async throws -> Response {
        let received = Date().timeIntervalSince1970
        if let origin = configuration.redirectOrigin {
            log.record(endpoint: endpoint, subject: subject, status: 302, outcome: .rejected, received: received)
            return Response(status: .found, headers: [.location: origin + request.uri.description])
        }
        let now = self.now
        let grant: TokenIssuer.Grant
        switch authenticate(request, with: authentication, now: now) {
        case .granted(let granted):
            grant = granted
        case .refused(let refusal):
            log.record(endpoint: endpoint, subject: subject, status: 401, outcome: .unauthorized, received: received)
            return refusal
        }

        if configuration.echo == .api {
            log.record(endpoint: endpoint, subject: subject, status: 400, outcome: .rejected, received: received)
            let sent = request.headers[.authorization] ?? ""
            return respond(status: .badRequest, body: try json(["message": "bad request; you sent Authorization: \(sent)"]), contentType: "application/json", window: nil)
        }
        // A gateway that limits the calls open at once answers one more 429 at once, and counts no quota for it.
        guard openCalls.open(limit: configuration.concurrencyLimit) else {
            log.record(endpoint: endpoint, subject: subject, status: 429, outcome: .rateLimited, received: received)
            var response = fault(
                status: .tooManyRequests, text: "Too many concurrent requests. Identifier : _default",
                code: "policies.ratelimit.ConcurrentRatelimitViolation", window: nil
            )
            if configuration.sendsRetryAfter { response.headers[.retryAfter] = "1" }
            return response
        }
        defer { openCalls.close(limit: configuration.concurrencyLimit) }
        let window: QuotaLedger.Window?
        switch ledger.admit(client: grant.client, now: now) {
        case .limited(let limitedWindow, let retryAfter):
            log.record(endpoint: endpoint, subject: subject, status: configuration.rateLimitStatus, outcome: .rateLimited, received: received)
            var response = fault(
                status: .init(code: configuration.rateLimitStatus),
                text: "Rate limit quota violation. Quota limit  exceeded. Identifier : _default",
                code: "policies.ratelimit.QuotaViolation",
                window: limitedWindow
            )
            if configuration.sendsRetryAfter {
                response.headers[.retryAfter] = String(Int(retryAfter.rounded(.up)))
            }
            return response
        case .allowed(let allowedWindow):
            window = allowedWindow
        }

        let draw = faults.draw()
        var threshold = configuration.dropRate
        if draw < threshold {
            log.record(endpoint: endpoint, subject: subject, status: 0, outcome: .dropped, received: received)
            try await context.channel.close()
            throw SandboxDroppedConnection()
        }
        threshold += configuration.faultRate
        if draw < threshold {
            let statuses: [HTTPResponse.Status] = [.internalServerError, .badGateway, .serviceUnavailable]
            let status = statuses[Int(faults.draw() * 3) % 3]
            log.record(endpoint: endpoint, subject: subject, status: status.code, outcome: .fault, received: received)
            let body = #"{"error_code": \#(status.code), "message": "\#(status.reasonPhrase)"}"#
            return respond(status: status, body: ByteBuffer(string: body), contentType: "application/json", window: window)
        }
        threshold += configuration.slowRate
        let isSlow = draw < threshold
        if isSlow { try await Task.sleep(for: configuration.slowDelay) }
        if configuration.latency > .zero { try await Task.sleep(for: configuration.latency) }

        var answer = try await handler(grant)
        let isSuccess = (200..<300).contains(answer.status.code)
        var outcome: RequestLog.Outcome = isSlow ? .slow : isSuccess ? .ok : .rejected
        if isSuccess, configuration.answerDamage != .none, faults.draw() < configuration.answerDamageRate {
            answer.body = damaged(answer.body)
            outcome = .damaged
        }
        let isStalled = configuration.stallRate > 0 && faults.draw() < configuration.stallRate
        log.record(endpoint: endpoint, subject: subject, status: answer.status.code, outcome: isStalled ? .stalled : outcome, received: received)
        var response = respond(status: answer.status, body: answer.body, contentType: answer.contentType, window: window)
        if isStalled { response.body = stalled(answer.body) }
        return response
    }

    /// `body`, one byte every `slowDelay` after the head went out.
    private func stalled(_ body: ByteBuffer) -> ResponseBody {
        let delay = configuration.slowDelay
        return ResponseBody(contentLength: body.readableBytes) { writer in
            for byte in body.readableBytesView {
                try await writer.write(ByteBuffer(bytes: [byte]))
                try await Task.sleep(for: delay)
            }
            try await writer.finish(nil)
        }
    }

    /// A successful answer's body, broken as `answerDamage` says.
    private func damaged(_ body: ByteBuffer) -> ByteBuffer {
        switch configuration.answerDamage {
        case .none: body
        case .truncated: body.getSlice(at: body.readerIndex, length: body.readableBytes / 2) ?? body
        case .wrongTypes: ByteBuffer(string: #"{"operator_lookup":{"operatorName":{"name":"KPN"},"regionCode":["NL"],"mcc":true},"device_match":7,"id":12,"tasks":"none","image":false}"#)
        case .huge: ByteBuffer(repeating: UInt8(ascii: " "), count: configuration.hugeAnswerBytes)
        }
    }

    private enum AuthenticationVerdict {
        case granted(TokenIssuer.Grant)
        case refused(Response)
    }

    private func authenticate(_ request: Request, with authentication: Authentication, now: Double) -> AuthenticationVerdict {
        let authorization = request.headers[.authorization]
        switch authentication {
        case .gatewayToken:
            switch tokens.check(authorization: authorization, now: now) {
            case .valid(let grant):
                return .granted(grant)
            case .expired:
                return .refused(fault(status: .unauthorized, text: "Access Token expired", code: "oauth.v2.AccessTokenExpired", window: nil))
            case .invalid:
                return .refused(fault(status: .unauthorized, text: "Invalid access token", code: "oauth.v2.InvalidAccessToken", window: nil))
            }
        case .idscanJWT:
            let verifier = IDScanJWT(keyID: configuration.idscanKeyID, secret: configuration.idscanSecret, leewaySeconds: configuration.jwtLeewaySeconds)
            switch verifier.verify(authorization: authorization, now: now) {
            case .success(let claims):
                return .granted(TokenIssuer.Grant(client: claims.keyID, scopes: [], expiresAt: Double(claims.expires)))
            case .failure(let failure):
                let answer = Self.idscanError(.unauthorized, failure.message)
                return .refused(respond(status: answer.status, body: answer.body, contentType: answer.contentType, window: nil))
            }
        }
    }

    /// An answer with the gateway's standard headers.
    func respond(status: HTTPResponse.Status, body: ByteBuffer, contentType: String, window: QuotaLedger.Window?) -> Response {
        var headers: HTTPFields = [.contentType: contentType]
        headers[HTTPField.Name("sunset")!] = "n/a"
        headers[HTTPField.Name("api-version")!] = "v1"
        if configuration.sendsQuotaHeaders, let window {
            headers[HTTPField.Name("quota-limit")!] = String(window.limit)
            headers[HTTPField.Name("quota-used")!] = String(window.used)
            headers[HTTPField.Name("quota-interval")!] = String(window.quota.interval)
            headers[HTTPField.Name("quota-time-unit")!] = window.quota.unit.rawValue
            headers[HTTPField.Name("quota-reset-UTC")!] = ResetHeader.format(window.resetEpoch, as: configuration.resetFormat)
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    /// An Apigee fault answer.
    func fault(status: HTTPResponse.Status, text: String, code: String, window: QuotaLedger.Window?) -> Response {
        let body = #"{"fault":{"faultstring":"\#(text)","detail":{"errorcode":"\#(code)"}}}"#
        return respond(status: status, body: ByteBuffer(string: body), contentType: "application/json", window: window)
    }

    func json(_ object: Any) throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }
}

/// The sandbox's request context: Hummingbird's basics plus the channel, so a fault can drop the connection.
public struct SandboxContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

/// Thrown after the sandbox closed a connection on purpose.
struct SandboxDroppedConnection: Error {}
