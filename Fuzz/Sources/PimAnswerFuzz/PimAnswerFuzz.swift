import FuzzSupport

/// Fuzzes `SVGAnswer.decode(_:)` (Sources/Jobs/Kinds/PimQR/SVGAnswer.swift): PiM's `/image` answer in any of its
/// three framings. Besides never crashing, it checks that whatever it accepts is an SVG document by its own test,
/// and that decoding is deterministic.
@main
struct PimAnswerFuzz {
    static func main() {
        runFuzzer { input in
            let body = Array(input)
            let svg = SVGAnswer.decode(body)
            if let svg { check(SVGAnswer.isSVG(svg), "accepted a body that is not SVG") }
            check(SVGAnswer.decode(body) == svg, "not deterministic")
        }
    }
}
