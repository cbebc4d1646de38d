/// JSON writing helpers over reused byte buffers.
public enum EventEncoder {
    /// A JSON string literal: quotes, backslashes and control characters escaped.
    public static func appendString(_ s: String, _ out: inout ByteBuffer) {
        EventText.withBytes(s) { appendString($0, &out) }
    }

    /// A JSON string literal of UTF-8 bytes.
    @inline(__always)
    public static func appendString(_ bytes: UnsafeRawBufferPointer, _ out: inout ByteBuffer) {
        out.reserve(bytes.count &* 6 &+ 2)
        var c = out.cursor
        putString(bytes, &c)
        out.commit(c)
    }

    /// `appendString` into room reserved beforehand (six bytes per byte, plus two); `plain`
    /// when the bytes are known to need no escape (then they are not checked).
    @inline(__always)
    static func putString(_ bytes: UnsafeRawBufferPointer, _ c: inout Cursor, plain: Bool = false) {
        guard let p = bytes.baseAddress, plain || !needsEscape(p, bytes.count) else {
            putEscaped(bytes, &c)
            return
        }
        c.put(0x22)
        c.put(p, bytes.count)
        c.put(0x22)
    }

    /// Whether any byte is '"', '\\' or a control character (eight bytes per step; the last
    /// step, and strings of four to seven bytes, use words that overlap).
    @inline(__always)
    static func needsEscape(_ p: UnsafeRawPointer, _ n: Int) -> Bool {
        if n >= 8 {
            var i = 0
            while i &+ 8 < n {
                if JSONScanner.specialBytes(p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) != 0 { return true }
                i &+= 8
            }
            return JSONScanner.specialBytes(p.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)) != 0
        }
        if n >= 4 {
            let w = UInt64(p.loadUnaligned(as: UInt32.self)) | UInt64(p.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)) << 32
            return JSONScanner.specialBytes(w) != 0
        }
        for i in 0..<n {
            let b = p.load(fromByteOffset: i, as: UInt8.self)
            if b < 0x20 || b == 0x22 || b == 0x5C { return true }
        }
        return false
    }

    private static func putEscaped(_ bytes: UnsafeRawBufferPointer, _ c: inout Cursor) {
        c.put(0x22)
        for b in bytes {
            switch b {
            case 0x22: c.put(0x5C); c.put(0x22)
            case 0x5C: c.put(0x5C); c.put(0x5C)
            case 0x0A: c.put(0x5C); c.put(0x6E)
            case 0x0D: c.put(0x5C); c.put(0x72)
            case 0x09: c.put(0x5C); c.put(0x74)
            case 0..<0x20:
                c.put(0x5C); c.put(0x75); c.put(0x30); c.put(0x30)
                c.put(hexDigit(b >> 4)); c.put(hexDigit(b & 0xF))
            default: c.put(b)
            }
        }
        c.put(0x22)
    }

    /// A quoted UTC time with three fraction digits.
    public static func appendTime(_ millis: Int64, _ out: inout ByteBuffer) {
        out.reserve(Timestamp.maxBytes &+ 2)
        var c = out.cursor
        putTime(millis, &c, &out.dates)
        out.commit(c)
    }

    /// `appendTime` into room reserved beforehand (`Timestamp.maxBytes` + 2).
    @inline(__always)
    static func putTime(_ millis: Int64, _ c: inout Cursor, _ dates: inout DateCache) {
        c.put(0x22)
        Timestamp.put(millis, to: &c, dates: &dates)
        c.put(0x22)
    }

    /// The decimal digits of `v` (a minus sign first when negative), at most 20 bytes.
    static func putDecimal(_ v: Int64, _ c: inout Cursor) {
        if v < 0 { c.put(0x2D) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch, right-aligned
        var n = v.magnitude
        var len = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[23 - len] = UInt8(truncatingIfNeeded: n % 10) &+ 0x30
                n /= 10
                len += 1
            } while n > 0
            c.put(d.baseAddress! + (24 - len), len)
        }
    }

    /// Sixteen lower-case hex digits in quotes.
    public static func appendHex(_ v: UInt64, _ out: inout ByteBuffer) {
        out.reserve(24)
        var c = out.cursor
        putHex(v, &c)
        out.commit(c)
    }

    /// `appendHex` into room reserved beforehand (24 bytes).
    @inline(__always)
    static func putHex(_ v: UInt64, _ c: inout Cursor) {
        c.put(0x22)
        c.putWord(hexDigits(UInt32(truncatingIfNeeded: v >> 32)), counting: 8)
        c.putWord(hexDigits(UInt32(truncatingIfNeeded: v)), counting: 8)
        c.put(0x22)
    }

    /// The eight hex digits of `v` as the bytes of a little-endian word, most significant first.
    @inline(__always)
    static func hexDigits(_ v: UInt32) -> UInt64 {
        // Spread the nibbles one per byte, most significant nibble in the lowest byte.
        var x = UInt64(v.byteSwapped)                                        // bytes b0..b3 = v's bytes, high first
        x = (x | x << 16) & 0x0000_FFFF_0000_FFFF
        x = (x | x << 8) & 0x00FF_00FF_00FF_00FF                               // byte k of v in byte 2k
        x = ((x >> 4) & 0x000F_000F_000F_000F) | ((x & 0x000F_000F_000F_000F) << 8)  // high nibble first
        // 0-9 -> '0'-'9', 10-15 -> 'a'-'f'.
        let letters = ((x &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        return x &+ 0x3030_3030_3030_3030 &+ letters &* 0x27
    }

    // [UInt8] variants for diagnostics and summaries (not on the hot path).

    public static func appendKey(_ key: StaticString, first: Bool = false, _ out: inout [UInt8]) {
        out.append(first ? 0x7B : 0x2C)
        out.append(0x22)
        out.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        out.append(0x22)
        out.append(0x3A)
    }

    public static func appendString(_ s: String, _ out: inout [UInt8]) {
        var b = ByteBuffer(capacity: s.utf8.count * 6 + 8)
        appendString(s, &b)
        out.append(contentsOf: UnsafeBufferPointer(start: b.base, count: b.count))
    }

    @inline(__always)
    static func hexDigit(_ n: UInt8) -> UInt8 { n < 10 ? 0x30 + n : 0x57 + n }
}
