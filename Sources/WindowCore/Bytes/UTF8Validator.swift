/// Strict, streaming UTF-8 validation (no overlongs, no surrogates, nothing above U+10FFFF).
///
/// Streaming lets an over-long line be judged `invalid_utf8` (which takes precedence over
/// `line_too_long`) without holding it in memory.
public struct UTF8Validator: Sendable {
    private var pending = 0       // continuation bytes still expected
    private var low: UInt8 = 0x80 // bounds for the next continuation byte
    private var high: UInt8 = 0xBF
    private var failed = false

    public init() {}

    /// True when `bytes` is a complete valid UTF-8 sequence.
    @inlinable
    public static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool { isValid(bytes, ByteMasks.self) }

    /// `isValid` with the masks of `kernel` (the tests hold the kernels against each other).
    @inlinable
    static func isValid<K: ByteMaskKernel>(_ bytes: UnsafeBufferPointer<UInt8>, _ kernel: K.Type) -> Bool {
        var i = 0
        let n = bytes.count
        // ASCII fast path: 64 bytes per step while no byte has its high bit set, then words.
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            while i &+ 64 <= n, !K.anyHigh64(raw + i) { i &+= 64 }
            while i + 8 <= n {
                if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { break }
                i += 8
            }
        }
        while i < n, bytes[i] < 0x80 { i += 1 }
        if i == n { return true }
        var v = UTF8Validator()
        v.feed(UnsafeBufferPointer(rebasing: bytes[i...]))
        return v.finish()
    }

    public mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) {
        if failed { return }
        for b in bytes {
            if pending > 0 {
                guard b >= low, b <= high else { failed = true; return }
                low = 0x80; high = 0xBF
                pending -= 1
                continue
            }
            switch b {
            case 0x00...0x7F: continue
            case 0xC2...0xDF: pending = 1
            case 0xE0: pending = 2; low = 0xA0
            case 0xE1...0xEC, 0xEE, 0xEF: pending = 2
            case 0xED: pending = 2; high = 0x9F
            case 0xF0: pending = 3; low = 0x90
            case 0xF1...0xF3: pending = 3
            case 0xF4: pending = 3; high = 0x8F
            default: failed = true; return
            }
        }
    }

    /// True when everything fed so far is valid and no sequence is cut off.
    public func finish() -> Bool { !failed && pending == 0 }
}
