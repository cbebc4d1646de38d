#if arch(x86_64)
import Builtin
#endif

/// The masks the scanners use, as a type parameter: the SIMD kernel in production, the
/// scalar one as the tests' reference (each generic use is specialised, no dynamic dispatch).
@usableFromInline
protocol ByteMaskKernel {
    static func stringSpecial16(_ p: UnsafeRawPointer) -> UInt32
    static func equal64(_ p: UnsafeRawPointer, _ byte: UInt8) -> UInt64
    static func anyHigh64(_ p: UnsafeRawPointer) -> Bool
}

/// Bit masks over blocks of bytes: bit `i` is set when byte `i` of the block has the property.
///
/// On x86-64 each 16-byte step is one SSE2 compare and one `pmovmskb` (SSE2 is the x86-64
/// baseline, so no CPU check is needed); elsewhere the same masks come from `ScalarByteMasks`,
/// which is always compiled so the tests can hold the two against each other.
/// Loads are unaligned and never reach past `p + 15` (or `p + 63` for the 64-byte forms).
@usableFromInline
enum ByteMasks: ByteMaskKernel {
    /// Bytes of the 16 at `p` that end a run of plain string content: `"`, `\` or a control
    /// byte (below 0x20).
    @inlinable @inline(__always)
    static func stringSpecial16(_ p: UnsafeRawPointer) -> UInt32 {
        #if arch(x86_64)
        let v = p.loadUnaligned(as: SIMD16<UInt8>.self)._storage._value
        let quote = SIMD16<UInt8>(repeating: 0x22)._storage._value
        let backslash = SIMD16<UInt8>(repeating: 0x5C)._storage._value
        let space = SIMD16<UInt8>(repeating: 0x20)._storage._value
        let m = Builtin.or_Vec16xInt1(
            Builtin.or_Vec16xInt1(Builtin.cmp_eq_Vec16xInt8(v, quote), Builtin.cmp_eq_Vec16xInt8(v, backslash)),
            Builtin.cmp_ult_Vec16xInt8(v, space))
        return UInt32(UInt16(Builtin.bitcast_Vec16xInt1_Int16(m)))
        #else
        return ScalarByteMasks.stringSpecial16(p)
        #endif
    }

    /// Bytes of the 16 at `p` equal to `byte`.
    @inlinable @inline(__always)
    static func equal16(_ p: UnsafeRawPointer, _ byte: UInt8) -> UInt32 {
        #if arch(x86_64)
        let v = p.loadUnaligned(as: SIMD16<UInt8>.self)._storage._value
        let c = SIMD16<UInt8>(repeating: byte)._storage._value
        return UInt32(UInt16(Builtin.bitcast_Vec16xInt1_Int16(Builtin.cmp_eq_Vec16xInt8(v, c))))
        #else
        return ScalarByteMasks.equal16(p, byte)
        #endif
    }

    /// Bytes of the 64 at `p` equal to `byte`.
    @inlinable @inline(__always)
    static func equal64(_ p: UnsafeRawPointer, _ byte: UInt8) -> UInt64 {
        UInt64(equal16(p, byte)) | UInt64(equal16(p + 16, byte)) << 16
            | UInt64(equal16(p + 32, byte)) << 32 | UInt64(equal16(p + 48, byte)) << 48
    }

    /// Whether any of the 64 bytes at `p` is 0x80 or above (one `pmovmskb` of their OR).
    @inlinable @inline(__always)
    static func anyHigh64(_ p: UnsafeRawPointer) -> Bool {
        #if arch(x86_64)
        let a = p.loadUnaligned(as: SIMD16<UInt8>.self) | p.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self)
        let b = p.loadUnaligned(fromByteOffset: 32, as: SIMD16<UInt8>.self) | p.loadUnaligned(fromByteOffset: 48, as: SIMD16<UInt8>.self)
        let zero = SIMD16<Int8>(repeating: 0)._storage._value
        let high = Builtin.cmp_slt_Vec16xInt8((a | b)._storage._value, zero)
        return UInt16(Builtin.bitcast_Vec16xInt1_Int16(high)) != 0
        #else
        return ScalarByteMasks.anyHigh64(p)
        #endif
    }
}

/// The masks of `ByteMasks` computed eight bytes at a time in general-purpose registers (the
/// portable path, and the reference the SIMD path is tested against). Every flag is exact.
@usableFromInline
enum ScalarByteMasks: ByteMaskKernel {
    @usableFromInline static let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
    @usableFromInline static let high: UInt64 = 0x8080_8080_8080_8080

    /// The high bit of each zero byte of `x` (exact in every byte: no carry crosses a byte).
    @inlinable @inline(__always)
    static func zeroBytes(_ x: UInt64) -> UInt64 { ~(((x & low7) &+ low7) | x) & high }

    /// The high bit of each byte of `w` below 0x20 (exact: `(b & 0x7F) + 0x60` stays in its byte).
    @inlinable @inline(__always)
    static func controlBytes(_ w: UInt64) -> UInt64 { ~((w & low7) &+ 0x6060_6060_6060_6060) & ~w & high }

    /// Byte-wise high bits (bit 8k+7 for byte k) gathered into the low eight bits.
    @inlinable @inline(__always)
    static func gather(_ flags: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: ((flags &>> 7) &* 0x0102_0408_1020_4080) &>> 56) }

    @inlinable @inline(__always)
    static func stringSpecial8(_ w: UInt64) -> UInt32 {
        gather(zeroBytes(w ^ 0x2222_2222_2222_2222) | zeroBytes(w ^ 0x5C5C_5C5C_5C5C_5C5C) | controlBytes(w))
    }

    @inlinable
    static func stringSpecial16(_ p: UnsafeRawPointer) -> UInt32 {
        stringSpecial8(p.loadUnaligned(as: UInt64.self)) | stringSpecial8(p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) << 8
    }

    @inlinable
    static func equal16(_ p: UnsafeRawPointer, _ byte: UInt8) -> UInt32 {
        let c = UInt64(byte) &* 0x0101_0101_0101_0101
        return gather(zeroBytes(p.loadUnaligned(as: UInt64.self) ^ c))
            | gather(zeroBytes(p.loadUnaligned(fromByteOffset: 8, as: UInt64.self) ^ c)) << 8
    }

    @inlinable
    static func equal64(_ p: UnsafeRawPointer, _ byte: UInt8) -> UInt64 {
        UInt64(equal16(p, byte)) | UInt64(equal16(p + 16, byte)) << 16
            | UInt64(equal16(p + 32, byte)) << 32 | UInt64(equal16(p + 48, byte)) << 48
    }

    @inlinable
    static func anyHigh64(_ p: UnsafeRawPointer) -> Bool {
        var w: UInt64 = 0
        for k in 0..<8 { w |= p.loadUnaligned(fromByteOffset: 8 &* k, as: UInt64.self) }
        return w & high != 0
    }
}
