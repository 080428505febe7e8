/// Stands in for the product's ServiceError (Sources/Jobs/Transport/ServiceError.swift), whose other cases pull
/// in the network layer: only the token answer's cases.
enum ServiceError: Error, Equatable {
    case tokenAnswerWithoutToken
    case tokenAnswerWrongType(AnswerShapeError)
}
