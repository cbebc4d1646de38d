/// A word-at-a-time hash for event ids: each field is taken eight bytes per multiply, with
/// its length, so that field boundaries cannot be shifted; finished by splitmix64.
@usableFromInline
struct WordHash {
    @usableFromInline var h: UInt64 = 0x9E37_79B9_7F4A_7C15

    @inlinable init() {}

    @inlinable @inline(__always)
    mutating func add(_ v: UInt64) {
        h = (h ^ v) &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 32
    }

    @inlinable @inline(__always)
    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        add(UInt64(n))
        guard let p = bytes.baseAddress else { return }
        var i = 0
        while i + 8 <= n {
            add(p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        let rest = n &- i
        guard rest > 0 else { return }
        // The last 1–7 bytes as a little-endian word, read with loads that stay inside.
        let tail: UInt64
        if n >= 8 {
            tail = p.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self) &>> UInt64(truncatingIfNeeded: (8 &- rest) &* 8)
        } else if n >= 4 {
            let high = UInt64(p.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)) &>> UInt64(truncatingIfNeeded: (8 &- n) &* 8)
            tail = UInt64(p.loadUnaligned(as: UInt32.self)) | high << 32
        } else {
            var t: UInt64 = 0
            for k in 0..<n { t |= UInt64(p.load(fromByteOffset: k, as: UInt8.self)) << UInt64(k &* 8) }
            tail = t
        }
        add(tail)
    }

    @inlinable
    var mixed: UInt64 { SplitMix64.mix(h) }
}
