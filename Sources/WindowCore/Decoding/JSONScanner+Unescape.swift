/// Unescaping JSON string content (backslash escapes, `\u` escapes and surrogate pairs).
extension JSONScanner {
    /// Appends the unescaped UTF-8 content of `span` to `out`. Lone surrogates become U+FFFD.
    public static func unescape(_ bytes: UnsafeBufferPointer<UInt8>, _ span: StringSpan, into out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: span.count))
        let n = out.withUnsafeMutableBufferPointer { unescape(bytes, span, to: $0.baseAddress! + start) }
        out.removeLast(span.count - n)
    }

    /// Appends the unescaped UTF-8 content of `span` to `arena`.
    @inline(__always)
    public static func unescape(_ bytes: UnsafeBufferPointer<UInt8>, _ span: StringSpan, into arena: ByteArena) {
        arena.reserve(span.count)
        arena.commit(unescape(bytes, span, to: arena.end))
    }

    /// Writes the unescaped UTF-8 content of `span` at `out` (room for `span.count` bytes is
    /// enough: no escape is shorter than what it stands for) and returns the length written.
    /// Lone surrogates become U+FFFD.
    @inline(__always)
    public static func unescape(_ bytes: UnsafeBufferPointer<UInt8>, _ span: StringSpan, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let src = bytes.baseAddress! + span.start
        if !span.escaped {
            // Word moves inline: most values are a few dozen bytes, not worth a memmove call.
            var c = Cursor(p: out)
            c.put(UnsafeRawPointer(src), span.count)
            return span.count
        }
        return unescapeEscaped(src, span.count, to: out)
    }

    @usableFromInline
    static func unescapeEscaped(_ src: UnsafePointer<UInt8>, _ n: Int, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var i = 0, o = 0
        func hex4(_ at: Int) -> UInt32 {
            var v: UInt32 = 0
            for k in 0..<4 { v = v << 4 | (hexValue(src[at + k]) ?? 0) }
            return v
        }
        let raw = UnsafeRawPointer(src)
        let wout = UnsafeMutableRawPointer(out)
        while i < n {
            if i + 8 <= n {
                // Copy a word; stop at its first backslash (exact SWAR zero-byte test).
                // o <= i, so the store stays inside the room for n bytes.
                let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let slash = backslashBytes(w)
                wout.storeBytes(of: w, toByteOffset: o, as: UInt64.self)
                if slash == 0 {
                    i += 8
                    o += 8
                    continue
                }
                let k = slash.trailingZeroBitCount >> 3
                i += k
                o += k
            }
            let b = src[i]
            if b != 0x5C {
                out[o] = b
                o += 1
                i += 1
                continue
            }
            let e = src[i + 1]
            i += 2
            switch e {
            case 0x62: out[o] = 0x08; o += 1
            case 0x66: out[o] = 0x0C; o += 1
            case 0x6E: out[o] = 0x0A; o += 1
            case 0x72: out[o] = 0x0D; o += 1
            case 0x74: out[o] = 0x09; o += 1
            case 0x75:
                var scalar = hex4(i)
                i += 4
                if scalar >= 0xD800, scalar < 0xDC00 {
                    if i + 6 <= n, src[i] == 0x5C, src[i + 1] == 0x75 {
                        let low = hex4(i + 2)
                        if low >= 0xDC00, low < 0xE000 {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            i += 6
                        } else {
                            scalar = 0xFFFD
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if scalar >= 0xDC00, scalar < 0xE000 {
                    scalar = 0xFFFD
                }
                o += putScalar(scalar, at: out + o)
            default: out[o] = e; o += 1  // " \ /
            }
        }
        return o
    }

    /// Writes one scalar as UTF-8 (at most 3 bytes for a `\u` escape, 4 for a pair).
    static func putScalar(_ s: UInt32, at out: UnsafeMutablePointer<UInt8>) -> Int {
        switch s {
        case 0..<0x80:
            out[0] = UInt8(s); return 1
        case 0x80..<0x800:
            out[0] = UInt8(0xC0 | s >> 6); out[1] = UInt8(0x80 | s & 0x3F); return 2
        case 0x800..<0x10000:
            out[0] = UInt8(0xE0 | s >> 12); out[1] = UInt8(0x80 | s >> 6 & 0x3F); out[2] = UInt8(0x80 | s & 0x3F); return 3
        default:
            out[0] = UInt8(0xF0 | s >> 18); out[1] = UInt8(0x80 | s >> 12 & 0x3F)
            out[2] = UInt8(0x80 | s >> 6 & 0x3F); out[3] = UInt8(0x80 | s & 0x3F); return 4
        }
    }
}
