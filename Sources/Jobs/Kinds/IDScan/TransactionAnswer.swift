/// The answer to `POST /transactions`: the new transaction's `id`, and its `url` and `expires` when given.
///
/// The transaction exists once an id came back, so an answer with `url` or `expires` of the wrong type still
/// records the id (the row is `ok`, with those fields blank and a note naming the field): failing the row would
/// invite `--retry-failed` to create the transaction a second time.
struct TransactionAnswer: Equatable {
    var id: String
    var url = ""
    var expires = ""
    /// The first field of the wrong type, when one was left blank.
    var wrongType: AnswerShapeError?

    /// Nil when the answer holds no transaction id as text (the row is then `unknown`).
    init?(body: [UInt8]) {
        guard let answer = JSONValue(parsing: body), case .object = answer, case .string(let id)? = answer["id"], !id.isEmpty else {
            return nil
        }
        self.id = id
        do {
            url = try answer.text("url") ?? ""
        } catch {
            wrongType = error
        }
        do {
            expires = try answer.text("expires") ?? ""
        } catch {
            wrongType = wrongType ?? error
        }
    }
}
