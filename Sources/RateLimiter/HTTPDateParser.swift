/// Parses the date forms quota headers arrive in, without Foundation's formatters (fast, and total on any input).
enum HTTPDateParser {
    /// `quota-reset-UTC`: 13-digit epoch milliseconds, 10-digit epoch seconds, ISO-8601 or RFC 1123.
    /// `n/a`, empty or anything else unreadable answers nil (the reset is unknown).
    static func epochSeconds(resetHeader value: String) -> Double? {
        let bytes = Array(value.utf8)
        guard !bytes.isEmpty else { return nil }
        if bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            guard bytes.count <= 16, let number = Double(value) else { return nil }
            // Epoch milliseconds have 13 digits until the year 2286; seconds have 10 until then.
            return bytes.count >= 12 ? number / 1000 : number
        }
        return epochSeconds(iso8601: bytes) ?? epochSeconds(rfc1123: value)
    }

    /// RFC 1123 (`Sun, 06 Nov 1994 08:49:37 GMT`), with or without the weekday.
    static func epochSeconds(rfc1123 value: String) -> Double? {
        var parts = value.split(separator: " ", omittingEmptySubsequences: true)
        if let first = parts.first, first.hasSuffix(",") { parts.removeFirst() }
        guard parts.count >= 4, parts.count <= 5,
            let day = Int(parts[0]), let month = monthNumber(parts[1]), let year = Int(parts[2])
        else { return nil }
        if parts.count == 5 { guard parts[4] == "GMT" || parts[4] == "UTC" || parts[4] == "+0000" else { return nil } }
        let time = parts[3].split(separator: ":")
        guard time.count == 3, let hour = Int(time[0]), let minute = Int(time[1]), let second = Int(time[2]) else {
            return nil
        }
        return epochSeconds(year: year, month: month, day: day, hour: hour, minute: minute, second: Double(second))
    }

    /// ISO-8601: `2026-11-23T17:00:00Z`, fractions of a second and `+01:00` style offsets allowed.
    static func epochSeconds(iso8601 bytes: [UInt8]) -> Double? {
        var index = 0
        func number(_ width: Int) -> Int? {
            guard index + width <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + width] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            index += width
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            expect("Tt "), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
            let wholeSecond = number(2)
        else { return nil }
        var second = Double(wholeSecond)
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: ",") {
            index += 1
            var scale = 0.1
            let start = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                second += Double(bytes[index] - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offset = 0
        if index == bytes.count || expect("Zz") {
            offset = 0
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let hours = number(2) else { return nil }
            _ = expect(":")
            guard let minutes = number(2) else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
        } else {
            return nil
        }
        guard index == bytes.count,
            let local = epochSeconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        else { return nil }
        return local - Double(offset)
    }

    private static func monthNumber(_ name: Substring) -> Int? {
        let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        return months.firstIndex(of: name.lowercased()).map { $0 + 1 }
    }

    /// Days from the civil calendar (Howard Hinnant's algorithm), valid for any proleptic Gregorian date.
    private static func epochSeconds(
        year: Int,
        month: Int,
        day: Int,
        hour: Int,
        minute: Int,
        second: Double
    ) -> Double? {
        guard (1...9999).contains(year), (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour),
            (0...59).contains(minute), second >= 0, second < 61
        else { return nil }
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Double(days * 86_400 + hour * 3_600 + minute * 60) + second
    }
}
