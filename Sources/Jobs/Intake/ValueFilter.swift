import Foundation

/// A split-block Bloom filter of the values an intake has seen, in fixed memory whatever the manifest's size.
///
/// It answers "surely new" for almost every first occurrence, so the intake appends those rows without looking
/// anything up; the rare "maybe seen" rows (true repeats and false positives) are settled exactly once the whole
/// manifest is in (see ``SQLiteIntakeWriter``). A unique index on the value would do the same with a B-tree
/// insert per row, which cost more than the rest of the intake together (BENCHMARKS.md, manifest intake).
///
/// Each value sets one bit in each of the eight 64-bit words of one 64-byte block (one cache line). With the
/// default 16 MiB and a million distinct values about one in five billion lookups is a false positive; with four
/// million, about one in two hundred thousand.
///
/// Not thread-safe: one thread inserts at a time (the intake's producer thread).
package final class ValueFilter: @unchecked Sendable {
    private let words: UnsafeMutablePointer<UInt64>
    private let byteCount: Int
    private let blockMask: UInt64

    /// `bytes` is rounded down to a power of two, at least one block. The memory is mapped zeroed and backed on
    /// first touch, so a small manifest costs only the pages it touches; huge pages are asked for, as every
    /// lookup lands on a random block and small pages would make most of them a TLB miss.
    package init(bytes: Int = 16 << 20) {
        var blocks = 1
        while blocks * 2 * 64 <= bytes { blocks *= 2 }
        byteCount = blocks * 64
        let memory = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        precondition(memory != MAP_FAILED, "cannot map \(byteCount) bytes for the intake's value filter")
        #if os(Linux)
        _ = madvise(memory, byteCount, MADV_HUGEPAGE)
        #endif
        words = memory!.bindMemory(to: UInt64.self, capacity: blocks * 8)
        blockMask = UInt64(blocks - 1)
    }

    deinit { munmap(words, byteCount) }

    /// Adds `value`; answers false when it was surely not added before, true when it may have been.
    func insert(_ value: String) -> Bool {
        var value = value
        let hash = value.withUTF8 { Self.hash($0) }
        let block = words + Int((hash & blockMask) << 3)
        var bits = Self.mix(hash ^ 0x9E37_79B9_7F4A_7C15)
        var seen = true
        for word in 0..<8 {
            let bit: UInt64 = 1 << (bits & 63)
            bits >>= 6
            if block[word] & bit == 0 {
                seen = false
                block[word] |= bit
            }
        }
        return seen
    }

    /// FNV-1a over the bytes, then a SplitMix64 finaliser so every bit depends on every byte.
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return mix(hash)
    }

    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
