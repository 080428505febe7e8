/// Masks personal values for logs: the first four and last three characters stay, the rest become `*`
/// (`31612345678` becomes `3161****678`). Values of seven characters or fewer are masked whole.
public func maskedForLog(_ value: some StringProtocol) -> String {
    let characters = Array(value)
    guard characters.count > 7 else { return String(repeating: "*", count: characters.count) }
    return String(characters.prefix(4)) + String(repeating: "*", count: characters.count - 7)
        + String(characters.suffix(3))
}
