/// An OAuth client-credentials answer: `access_token` (text) and `expires_in`, which Number Verify sends as a
/// number and the gateway's own endpoint as text holding one.
///
/// The lifetime is clamped to 1 s ... 366 days before any arithmetic: `"inf"`, `1e300` or `"nan"` from a server
/// must not trap a conversion (and every cron run after it). Absent, null, or text that is no finite number: an
/// hour, the gateway's documented lifetime.
struct TokenAnswer: Equatable {
    static let lifetimes: ClosedRange<Double> = 1...(366 * 86_400)

    var token: String
    var lifetimeSeconds: Double

    /// - Throws: ``ServiceError/tokenAnswerWithoutToken`` or ``ServiceError/tokenAnswerWrongType(_:)``.
    init(body: [UInt8]) throws(ServiceError) {
        guard let answer = JSONValue(parsing: body), case .object = answer else { throw .tokenAnswerWithoutToken }
        do {
            guard let token = try answer.text("access_token"), !token.isEmpty else { throw ServiceError.tokenAnswerWithoutToken }
            self.token = token
            let lifetime = try answer.text("expires_in", [.string, .number]).flatMap(Double.init).flatMap { $0.isNaN ? nil : $0 } ?? 3600
            lifetimeSeconds = min(max(lifetime, Self.lifetimes.lowerBound), Self.lifetimes.upperBound)
        } catch let error as AnswerShapeError {
            throw .tokenAnswerWrongType(error)
        } catch let error as ServiceError {
            throw error
        } catch {
            throw .tokenAnswerWithoutToken
        }
    }
}
