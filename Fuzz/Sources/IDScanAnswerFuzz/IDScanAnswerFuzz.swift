import FuzzSupport

/// Fuzzes the ID Scan answer parsers: `IDScanResult(body:)` (a transaction's results, read by every idscan-reports
/// row) and `TransactionAnswer(body:)` (a created transaction, Sources/Jobs/Kinds/IDScan). The first byte picks
/// the parser. Besides never crashing, it checks that every file has a URL, that a wrong-type refusal names a
/// field under `tasks`, and that a created transaction has an id.
@main
struct IDScanAnswerFuzz {
    static func main() {
        runFuzzer { input in
            guard let selector = input.first else { return }
            let body = Array(input.dropFirst())
            if selector & 1 == 0 {
                do throws(IDScanResult.Problem) {
                    let result = try IDScanResult(body: body)
                    let again = try IDScanResult(body: body)
                    check(result.values == again.values && result.files == again.files, "not deterministic")
                } catch .wrongType(let shape) {
                    check(shape.field.hasPrefix("tasks["), "field \(shape.field)")
                } catch {}
            } else if let created = TransactionAnswer(body: body) {
                check(!created.id.isEmpty, "a transaction without an id")
                if let shape = created.wrongType { check(shape.field == "url" || shape.field == "expires", "field \(shape.field)") }
            }
        }
    }
}
