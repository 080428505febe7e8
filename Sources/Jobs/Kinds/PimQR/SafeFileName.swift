/// Makes a manifest key safe as a file name: letters, digits, `.`, `-` and `_` stay; everything else (path
/// separators, control characters, spaces, other scripts) becomes `_`, and so does every run of two or more dots
/// (no `..` anywhere); leading dots go (no hidden files); a leading `-` gets a `_` before it (no name a command
/// would take for an option); at most 100 characters. Names without a letter or digit are refused.
enum SafeFileName {
    static let maximumLength = 100

    static func make(_ key: String) -> String? {
        var characters: [Character] = []
        for scalar in key.unicodeScalars {
            let isSafe = scalar.isASCII
                && (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                    || scalar == "." || scalar == "-" || scalar == "_")
            characters.append(isSafe ? Character(scalar) : "_")
        }
        var collapsed: [Character] = []
        var index = 0
        while index < characters.count {
            var end = index
            while end < characters.count, characters[end] == "." { end += 1 }
            if end - index >= 2 {
                collapsed.append("_")
                index = end
            } else {
                collapsed.append(characters[index])
                index += 1
            }
        }
        characters = collapsed
        while characters.first == "." { characters.removeFirst() }
        if characters.first == "-" { characters.insert("_", at: 0) }
        let name = String(characters.prefix(maximumLength))
        guard name.contains(where: { $0.isLetter || $0.isNumber }) else { return nil }
        return name
    }
}
