import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// The baseline of the end-to-end benchmarks: the runner's HTTP client (AsyncHTTPClient, same pool settings)
/// sending the same requests with the same concurrency to the same sandbox, with nothing else: no CSV, no store,
/// no limiter, no retries, no files. Prints one JSON line.
///
///     bare-client number-verify ORIGIN NUMBERS-FILE CONCURRENCY   # one number per line
///     bare-client idscan-reports ORIGIN PAIRS-FILE CONCURRENCY    # `transaction_id,result_id` per line
///
/// With the runner's network settings when asked: `BARE_CA_FILE` (a PEM CA trusted beside the system roots, as
/// `http.ca_file`) and `BARE_PROXY` (`host:port`, as `http.proxy`).
let arguments = CommandLine.arguments
guard arguments.count == 5, let concurrency = Int(arguments[4]) else {
    FileHandle.standardError.write(Data("usage: bare-client number-verify|idscan-reports ORIGIN FILE CONCURRENCY\n".utf8))
    exit(64)
}
let (mode, origin) = (arguments[1], arguments[2])
let lines = try String(contentsOfFile: arguments[3], encoding: .utf8).split(separator: "\n").map(String.init)

var configuration = HTTPClient.Configuration()
configuration.redirectConfiguration = .disallow
configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(concurrency, 8))
configuration.decompression = .disabled
// The runner's timeouts at `http.timeout: 30s` (AsyncHTTPClientTransport.clientConfiguration): a connection
// attempt capped at 10 s, and the idle read timeout that guards a stalled answer. The read timeout is a timer
// re-armed on every request; a baseline without it would count that client setting as the runner's own work.
configuration.timeout = .init(connect: .seconds(10), read: .seconds(30))
if let caFile = ProcessInfo.processInfo.environment["BARE_CA_FILE"] {
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caFile))]
    configuration.tlsConfiguration = tls
}
if let proxy = ProcessInfo.processInfo.environment["BARE_PROXY"], let colon = proxy.lastIndex(of: ":"), let port = Int(proxy[proxy.index(after: colon)...]) {
    configuration.proxy = .server(host: String(proxy[..<colon]), port: port)
}
let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)

/// The request for one line, and a fresh Authorization header value.
let request: @Sendable (String, String) -> HTTPClientRequest
let authorization: @Sendable () async throws -> String
switch mode {
case "number-verify":
    var tokenRequest = HTTPClientRequest(url: origin + "/communication/kpn/numberverify/token")
    tokenRequest.method = .POST
    tokenRequest.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
    tokenRequest.body = .bytes(ByteBuffer(string: "client_id=sandbox-client&client_secret=sandbox-secret&scopes=operator_lookup"))
    let answer = try await http.execute(tokenRequest, timeout: .seconds(30))
    let body = try await answer.body.collect(upTo: 1 << 20)
    let token = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as! [String: Any]
    let bearer = "Bearer " + (token["access_token"] as! String)
    authorization = { bearer }
    request = { number, authorization in
        var request = HTTPClientRequest(url: origin + "/communication/kpn/numberverify/insights/" + number)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "Authorization", value: authorization)
        request.body = .bytes(ByteBuffer(string: "{}"))
        return request
    }
case "idscan-reports":
    // The sandbox's ID Scan demo key; a token lives 60 s, so a fresh one every 30 s.
    let minted = Mutex<(token: String, at: Double)>(("", 0))
    authorization = {
        let now = Date().timeIntervalSince1970
        return minted.withLock { state in
            if now - state.at > 30 { state = (DemoToken.mint(now: Int(now)), now) }
            return "Bearer " + state.token
        }
    }
    request = { pair, authorization in
        let ids = pair.split(separator: ",")
        var request = HTTPClientRequest(url: origin + "/id-scan/v1/transactions/\(ids[0])/results/\(ids[1])/report")
        request.headers.add(name: "Accept", value: "application/pdf")
        request.headers.add(name: "Authorization", value: authorization)
        return request
    }
default:
    fatalError("unknown mode \(mode)")
}

/// An ID Scan token signed with the sandbox's demo key.
enum DemoToken {
    static func mint(now: Int) -> String {
    func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
    let header = base64URL(Data(#"{"alg":"HS256","typ":"JWT","kid":"3b438437-04a4-40bb-8389-54bb02766fba"}"#.utf8))
    let payload = base64URL(Data(#"{"iat":\#(now),"nbf":\#(now),"exp":\#(now + 60)}"#.utf8))
    let key = SymmetricKey(data: Data("sandbox-idscan-secret".utf8))
    let signature = HMAC<SHA256>.authenticationCode(for: Data("\(header).\(payload)".utf8), using: key)
    return "\(header).\(payload).\(base64URL(Data(signature)))"
    }
}

let next = Atomic<Int>(0)
let tally = Mutex<(ok: Int, failed: Int, bytes: Int)>((0, 0, 0))
let clock = ContinuousClock()
let start = clock.now
try await withThrowingTaskGroup(of: Void.self) { group in
    for _ in 0..<concurrency {
        group.addTask {
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < lines.count else { return }
                let response = try await http.execute(request(lines[index], try await authorization()), timeout: .seconds(30))
                let body = try await response.body.collect(upTo: 64 << 20)
                let ok = response.status == .ok
                tally.withLock {
                    if ok { $0.ok += 1 } else { $0.failed += 1 }
                    $0.bytes += body.readableBytes
                }
            }
        }
    }
    try await group.waitForAll()
}
let elapsed = start.duration(to: clock.now)
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
try await http.shutdown()
let (ok, failed, bytes) = tally.withLock { $0 }
print(#"{"mode":"\#(mode)","requests":\#(ok + failed),"ok":\#(ok),"failed":\#(failed),"bytes":\#(bytes),"seconds":\#(seconds),"requests_per_second":\#(Double(ok + failed) / seconds),"megabytes_per_second":\#(Double(bytes) / 1e6 / seconds)}"#)
