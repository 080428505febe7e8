import FuzzDriver
#if canImport(Glibc)
import Glibc
#endif

/// Runs libFuzzer with the process's arguments, calling `body` with every input, and exits with its status.
///
/// `body` checks its invariants with ``check(_:_:)``, which traps: libFuzzer catches the trap (SIGILL), saves
/// the input as `crash-...` and stops. Run with `SWIFT_BACKTRACE=enable=no`, or the Swift backtracer
/// symbolicates for half a minute before libFuzzer gets the signal (`scripts/fuzz.sh` sets it).
public func runFuzzer(_ body: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
    testOneInput = body
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        let input = UnsafeRawBufferPointer(start: size == 0 ? nil : data, count: size)
        testOneInput!(input)
        return 0
    }
    exit(status)
}

nonisolated(unsafe) private var testOneInput: ((UnsafeRawBufferPointer) -> Void)?

/// Traps with `message` when `condition` is false (in release builds too, unlike `assert`).
@inline(__always)
public func check(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition {
        fatalError("invariant violated: \(message())", file: file, line: line)
    }
}

/// A small deterministic generator (SplitMix64), for choices derived from the input.
public struct SplitMix64 {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next(upTo bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// Whether environment variable `name` is set to `1`.
public func getenvFlag(_ name: String) -> Bool {
    guard let value = getenv(name) else { return false }
    return String(cString: value) == "1"
}
