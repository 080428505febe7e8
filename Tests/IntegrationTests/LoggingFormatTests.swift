import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension EndToEnd {
    /// `--log-format json`: every line the binary writes on stderr is one JSON object with the documented fields,
    /// values escaped so that none can break its line, and personal numbers still only masked.
    @Suite(.timeLimit(.minutes(1)))
    struct LoggingFormatTests {
        static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        static let levels: Set<String> = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

        /// Every non-empty stderr line parsed, or a test failure naming the first line that is not a log object.
        func logObjects(_ stderr: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
            let lines = stderr.split(separator: "\n", omittingEmptySubsequences: true)
            return try lines.map { line in
                let parsed = try? JSONSerialization.jsonObject(with: Data(line.utf8))
                let object = try #require(parsed as? [String: Any], "not a JSON object: \(line)", sourceLocation: sourceLocation)
                try expectLogFields(object, line: String(line), sourceLocation: sourceLocation)
                return object
            }
        }

        func expectLogFields(_ object: [String: Any], line: String, sourceLocation: SourceLocation) throws {
            #expect(Set(object.keys) == ["timestamp", "level", "label", "message", "metadata", "source"], "\(line)", sourceLocation: sourceLocation)
            let timestamp = try #require(object["timestamp"] as? String, sourceLocation: sourceLocation)
            #expect(timestamp.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "\(timestamp)", sourceLocation: sourceLocation)
            #expect(Self.levels.contains(object["level"] as? String ?? ""), "\(line)", sourceLocation: sourceLocation)
            #expect(object["label"] as? String == "batch-runner", "\(line)", sourceLocation: sourceLocation)
            #expect(!(object["message"] as? String ?? "").isEmpty, "\(line)", sourceLocation: sourceLocation)
            #expect(!(object["source"] as? String ?? "").isEmpty, "\(line)", sourceLocation: sourceLocation)
            let metadata = try #require(object["metadata"] as? [String: Any], "\(line)", sourceLocation: sourceLocation)
            #expect(metadata.values.allSatisfy { $0 is String }, "metadata values are strings: \(line)", sourceLocation: sourceLocation)
        }

        @Test func theShippedJobLogsOneJSONObjectPerLineWithNumbersMasked() async throws {
            let workspace = try Workspace()
            let outcome = try await BatchRunnerProcess.run([
                "run", Self.packageRoot.appendingPathComponent("jobs/number-verify.yml").path, "--sandbox",
                "--output", workspace.output, "--log-level", "trace", "--log-format", "json",
            ])
            #expect(outcome.status == 0, "\(outcome.stderr.suffix(1000))")
            let objects = try logObjects(outcome.stderr)

            let finished = try #require(objects.last { $0["message"] as? String == "run finished" }, "\(outcome.stderr)")
            let finishedMetadata = finished["metadata"] as? [String: String] ?? [:]
            #expect(finishedMetadata["exit_code"] == "0")
            #expect(finishedMetadata["rows.total"] == "14")
            #expect(finished["source"] as? String == "Jobs")
            let rows = objects.filter { $0["message"] as? String == "row finished" }
            #expect(rows.count >= 9, "trace lines were written")
            #expect(rows.allSatisfy { $0["level"] as? String == "trace" })
            #expect(rows.allSatisfy { (($0["metadata"] as? [String: String])?["work.value"] ?? "").contains("****") })
            #expect(objects.contains { $0["source"] as? String == "BatchRunner" }, "the CLI's own lines too")
            #expect(!outcome.stdout.isEmpty && !outcome.stdout.contains("{"), "stdout keeps saying where the results are")

            // No number of the manifest appears unmasked: neither as written, nor as digits, nor its last nine digits.
            let manifest = try String(contentsOf: Self.packageRoot.appendingPathComponent("samples/msisdns.csv"), encoding: .utf8)
            let cells = manifest.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false)[1] }
            var checked = 0
            for cell in cells {
                let digits = cell.filter(\.isNumber)
                guard digits.count >= 8 else { continue }
                checked += 1
                #expect(!outcome.stderr.contains(cell), "\(cell) in the logs")
                #expect(!outcome.stderr.contains(digits), "\(cell) in the logs")
                #expect(!outcome.stderr.contains(String(digits.suffix(9))), "\(cell) in the logs")
            }
            #expect(checked >= 10)
        }

        @Test func theTextFormatStaysTheDefault() async throws {
            let workspace = try Workspace()
            let outcome = try await BatchRunnerProcess.run([
                "run", Self.packageRoot.appendingPathComponent("jobs/number-verify.yml").path, "--sandbox",
                "--output", workspace.output,
            ])
            #expect(outcome.status == 0, "\(outcome.stderr.suffix(1000))")
            let lines = outcome.stderr.split(separator: "\n")
            #expect(lines.count >= 3)
            for line in lines {
                #expect(line.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} [a-z]+ batch-runner:( .*)? \[[A-Za-z]+\] .+/) != nil, "\(line)")
            }
            #expect(outcome.stderr.contains("[Jobs] run finished"))
        }

        /// Text the server chose (its error message, put in the `error` metadata of a retry line) holds quotes, a
        /// backslash, a line break, a tab, a bell and a terminal escape: it comes back intact from the JSON, and
        /// none of those characters reaches stderr raw.
        @Test func metadataFromTheServerIsEscaped() async throws {
            let hostile = "say \"hi\" \\ back\nslash\tand\u{07}bell \u{1B}[31mred\u{1B}[0m \u{2028}end"
            let body = try JSONSerialization.data(withJSONObject: ["error_code": 503, "message": hostile])
            let server = try FixedAnswerServer(status: 503, body: body)
            defer { server.stop() }
            let sandbox = try await RunningSandbox.start()
            let workspace = try Workspace()
            try """
                kind: number-verify
                manifest: manifest.csv
                output: out
                columns: { msisdn: msisdn, key: customer_id }
                concurrency: 1
                endpoints:
                  base: http://127.0.0.1:\(server.port)/communication/kpn/numberverify
                  token: \(sandbox.origin)/communication/kpn/numberverify/token
                retry: { max_attempts: 2, base_delay: 10ms, max_delay: 20ms }
                """.write(toFile: workspace.jobFile, atomically: true, encoding: .utf8)
            try workspace.writeManifest(Manifests.numbers(count: 2))
            let outcome = try await BatchRunnerProcess.run(
                ["run", workspace.jobFile, "--log-level", "debug", "--log-format", "json"],
                environment: sandbox.credentials
            )
            #expect([3, 75].contains(outcome.status), "\(outcome.stderr.suffix(1000))")
            let objects = try logObjects(outcome.stderr)
            let retries = objects.filter { $0["message"] as? String == "transient failure; retrying" }
            #expect(!retries.isEmpty, "\(outcome.stderr)")
            for retry in retries {
                #expect((retry["metadata"] as? [String: String])?["error"] == "HTTP 503: " + hostile)
            }
            for raw in ["\u{07}", "\u{1B}", "\t", "\u{2028}", "\r"] {
                #expect(!outcome.stderr.contains(raw), "a raw \(raw.unicodeScalars.first!.value) on stderr")
            }
            // The closing message is a log object too, carrying the exit code.
            let closing = try #require(objects.last)
            #expect((closing["metadata"] as? [String: String])?["exit_code"] == "\(outcome.status)")
            #expect(closing["level"] as? String == (outcome.status == 75 ? "warning" : "error"))
        }

        @Test func anErrorBeforeTheRunIsAJSONLineToo() async throws {
            let outcome = try await BatchRunnerProcess.run(["run", "/nonexistent/job.yml", "--log-format", "json"])
            #expect(outcome.status == 78)
            let objects = try logObjects(outcome.stderr)
            #expect(objects.count == 1)
            #expect(objects.first?["level"] as? String == "error")
            #expect((objects.first?["metadata"] as? [String: String])?["exit_code"] == "78")
            let message = try #require(objects.first?["message"] as? String)
            #expect(message.contains("/nonexistent/job.yml"))
        }

        @Test func anUnknownLogFormatIsAUsageError() async throws {
            let outcome = try await BatchRunnerProcess.run(["run", "job.yml", "--log-format", "xml"])
            #expect(outcome.status == 64)
            #expect(outcome.stderr.contains("text") && outcome.stderr.contains("json"))
        }
    }
}

/// A loopback HTTP/1.1 server that answers every request with the same status and JSON body, closing each
/// connection after the answer. It stands in for a service whose error text the test controls.
private final class FixedAnswerServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32

    init(status: Int, body: Data) throws {
        #if canImport(Glibc)
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let listener = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard listener >= 0 else { throw POSIXError(.EMFILE) }
        var address = FreePort.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, pointer, &length) == 0
            }
        }
        guard bound else {
            close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        self.listener = listener
        self.port = Int(UInt16(bigEndian: address.sin_port))
        let head = "HTTP/1.1 \(status) Failing\r\ncontent-type: application/json\r\ncontent-length: \(body.count)\r\nconnection: close\r\n\r\n"
        let answer = Array(head.utf8) + Array(body)
        Thread {
            while true {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else {
                    if errno == EINTR { continue }
                    return  // stopped
                }
                Self.readRequest(connection)
                answer.withUnsafeBytes { _ = send(connection, $0.baseAddress, $0.count, Self.sendFlags) }
                close(connection)
            }
        }.start()
    }

    #if canImport(Glibc)
    private static let sendFlags = Int32(MSG_NOSIGNAL)
    #else
    private static let sendFlags: Int32 = 0
    #endif

    /// Reads the head and a `content-length` body, so the client is not answered before it finished sending.
    private static func readRequest(_ connection: Int32) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            received += buffer.prefix(count)
            let text = String(decoding: received, as: UTF8.self)
            guard let end = text.range(of: "\r\n\r\n") else { continue }
            let head = text[..<end.lowerBound].lowercased()
            let declared = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            if text.utf8.count - text[..<end.upperBound].utf8.count >= declared { return }
        }
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
