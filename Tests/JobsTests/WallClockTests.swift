import Foundation
import Testing

@testable import Jobs

/// The hand-written timestamps agree with Foundation's ISO-8601 format style.
@Suite struct WallClockTests {
    @Test func timestampsMatchFoundation() {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        var samples: [Double] = [0, 1_764_666_984.123, 1_764_666_984.9999, 951_782_400.5, 4_102_444_799.999, -1.5]
        for _ in 0..<500 { samples.append(Double.random(in: 0..<4_102_444_800)) }
        for seconds in samples {
            // Foundation, given the middle of the same millisecond (it floors its own float representation).
            let expected = Date(timeIntervalSince1970: ((seconds * 1000).rounded(.down) + 0.5) / 1000).formatted(style)
            #expect(WallClock.iso8601(epochSeconds: seconds) == expected, "\(seconds)")
        }
    }
}
