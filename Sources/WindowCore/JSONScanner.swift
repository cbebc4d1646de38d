#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A span of a JSON string's raw content (between the quotes) in the scanned buffer.
public struct StringSpan: Sendable, Equatable {
    public var start: Int
    public var end: Int
    /// True when the raw content holds a backslash escape and must be unescaped before use.
    public var escaped: Bool

    @inlinable
    public init(start: Int, end: Int, escaped: Bool) {
        self.start = start
        self.end = end
        self.escaped = escaped
    }

    @inlinable public var count: Int { end - start }
}

/// A validating JSON scanner over UTF-8 bytes (RFC 8259 grammar).
///
/// It never builds a document: callers walk objects key by key and either capture a string
/// span or skip the value. Skipping is iterative, so hostile nesting depth cannot exhaust the
/// stack. The bytes must already be valid UTF-8 (the line framer checks that).
public struct JSONScanner {
    public let bytes: UnsafeBufferPointer<UInt8>
    public var pos: Int

    @inlinable
    public init(_ bytes: UnsafeBufferPointer<UInt8>, pos: Int = 0) {
        self.bytes = bytes
        self.pos = pos
    }

    @inlinable public var atEnd: Bool { pos >= bytes.count }

    @inlinable
    public func peek() -> UInt8? { pos < bytes.count ? bytes[pos] : nil }

    @inlinable
    public mutating func skipWhitespace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    /// Consumes `byte` (after whitespace) if it is next.
    @inlinable
    public mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == byte { pos += 1; return true }
        return false
    }

    /// Scans a string starting at the opening quote; returns the span of its content.
    /// Runs of plain bytes are skipped eight at a time.
    @inlinable
    public mutating func scanString() -> StringSpan? {
        guard pos < bytes.count, bytes[pos] == 0x22 else { return nil }
        pos += 1
        let start = pos
        var escaped = false
        let n = bytes.count
        let raw = UnsafeRawPointer(bytes.baseAddress!)
        while true {
            if pos + 8 <= n {
                // SWAR: flag bytes that are '"', '\\' or control; the lowest flag is exact,
                // so jump straight to the first special byte of the word.
                let w = raw.loadUnaligned(fromByteOffset: pos, as: UInt64.self)
                let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
                let q = w ^ (ones &* 0x22), b = w ^ (ones &* 0x5C)
                let special = (((q &- ones) & ~q) | ((b &- ones) & ~b) | ((w &- ones &* 0x20) & ~w)) & highs
                if special == 0 {
                    pos += 8
                    continue
                }
                pos += special.trailingZeroBitCount >> 3
            } else if pos >= n {
                return nil
            }
            let c = bytes[pos]
            if c == 0x22 {
                let span = StringSpan(start: start, end: pos, escaped: escaped)
                pos += 1
                return span
            }
            if c < 0x20 { return nil }
            if c == 0x5C {
                escaped = true
                pos += 1
                guard pos < n else { return nil }
                switch bytes[pos] {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: pos += 1
                case 0x75:
                    guard pos + 4 < n else { return nil }
                    for k in 1...4 where JSONScanner.hexValue(bytes[pos + k]) == nil { return nil }
                    pos += 5
                default: return nil
                }
            } else {
                pos += 1
            }
        }
    }

    @inlinable
    static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case 0x30...0x39: return UInt32(b - 0x30)
        case 0x41...0x46: return UInt32(b - 0x41 + 10)
        case 0x61...0x66: return UInt32(b - 0x61 + 10)
        default: return nil
        }
    }

    /// Consumes `literal` (`true`, `false`, `null`) at the current position.
    @inlinable
    public mutating func scanLiteral(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard pos + n <= bytes.count else { return false }
        let p = literal.utf8Start
        for k in 0..<n where bytes[pos + k] != p[k] { return false }
        pos += n
        return true
    }

    @inlinable
    mutating func scanNumber() -> Bool {
        @inline(__always) func isDigit(_ i: Int) -> Bool { i < bytes.count && bytes[i] &- 0x30 < 10 }
        if pos < bytes.count, bytes[pos] == 0x2D { pos += 1 }
        guard isDigit(pos) else { return false }
        if bytes[pos] == 0x30 { pos += 1 } else { while isDigit(pos) { pos += 1 } }
        if pos < bytes.count, bytes[pos] == 0x2E {
            pos += 1
            guard isDigit(pos) else { return false }
            while isDigit(pos) { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] == 0x65 || bytes[pos] == 0x45 {
            pos += 1
            if pos < bytes.count, bytes[pos] == 0x2B || bytes[pos] == 0x2D { pos += 1 }
            guard isDigit(pos) else { return false }
            while isDigit(pos) { pos += 1 }
        }
        return true
    }

    /// Scans one scalar value (string, number, literal); containers are left to `skipValue`.
    @inlinable
    mutating func scanScalar() -> Bool {
        guard pos < bytes.count else { return false }
        switch bytes[pos] {
        case 0x22: return scanString() != nil
        case 0x74: return scanLiteral("true")
        case 0x66: return scanLiteral("false")
        case 0x6E: return scanLiteral("null")
        default: return scanNumber()
        }
    }

    /// Skips one complete value of any kind (after whitespace); false when it is malformed.
    public mutating func skipValue() -> Bool {
        skipWhitespace()
        guard pos < bytes.count else { return false }
        let first = bytes[pos]
        guard first == 0x7B || first == 0x5B else { return scanScalar() }
        // Container nesting as a bit stack (1 = object); deeper than 64 spills to an array.
        var bits: UInt64 = 0
        var spill: [UInt64] = []
        var depth = 0
        var inObject = false
        @inline(__always) func push(_ object: Bool) {
            if depth > 0, depth % 64 == 0 { spill.append(bits); bits = 0 }
            bits = bits << 1 | (inObject ? 1 : 0)
            depth += 1
            inObject = object
        }
        @inline(__always) func popLevel() {
            depth -= 1
            inObject = bits & 1 == 1
            bits >>= 1
            if depth > 0, depth % 64 == 0, let b = spill.popLast() { bits = b }
        }
        let n = bytes.count
        var expectValue = true  // after '[', ',' or ':'; false after a complete element
        var empty = true        // right after an opening bracket
        push(first == 0x7B)
        pos += 1
        while true {
            while pos < n, bytes[pos] <= 0x20, bytes[pos] == 0x20 || bytes[pos] == 0x0A || bytes[pos] == 0x0D || bytes[pos] == 0x09 { pos += 1 }
            guard pos < n else { return false }
            let b = bytes[pos]
            if expectValue {
                if empty, b == (inObject ? 0x7D : 0x5D) {
                    pos += 1
                    popLevel()
                    if depth == 0 { return true }
                    expectValue = false
                    empty = false
                    continue
                }
                empty = false
                if inObject {
                    guard b == 0x22, scanString() != nil, consume(0x3A) else { return false }
                    skipWhitespace()
                    guard pos < n else { return false }
                }
                let v = bytes[pos]
                if v == 0x7B || v == 0x5B {
                    push(v == 0x7B)
                    pos += 1
                    empty = true
                } else {
                    guard scanScalar() else { return false }
                    expectValue = false
                }
            } else if b == 0x2C {
                pos += 1
                expectValue = true
            } else if b == (inObject ? 0x7D : 0x5D) {
                pos += 1
                popLevel()
                if depth == 0 { return true }
            } else {
                return false
            }
        }
    }

    /// Walks the members of the object at the current position (which must be `{`), calling
    /// `member` with each key span; `member` must consume the value (or return false).
    @inlinable
    public mutating func scanObject(_ member: (inout JSONScanner, StringSpan) -> Bool) -> Bool {
        skipWhitespace()
        guard pos < bytes.count, bytes[pos] == 0x7B else { return false }
        pos += 1
        if consume(0x7D) { return true }
        while true {
            skipWhitespace()
            guard let key = scanString(), consume(0x3A) else { return false }
            skipWhitespace()
            guard member(&self, key) else { return false }
            if consume(0x2C) { continue }
            return consume(0x7D)
        }
    }

    /// True when the content of `span` equals `literal` once unescaped.
    @inlinable
    public func equals(_ span: StringSpan, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        let p = literal.utf8Start
        if !span.escaped {
            guard span.count == n else { return false }
            return memcmp(p, bytes.baseAddress! + span.start, n) == 0
        }
        var scratch: [UInt8] = []
        JSONScanner.unescape(bytes, span, into: &scratch)
        guard scratch.count == n else { return false }
        for k in 0..<n where scratch[k] != p[k] { return false }
        return true
    }

    /// Appends the unescaped UTF-8 content of `span` to `out`. Lone surrogates become U+FFFD.
    public static func unescape(_ bytes: UnsafeBufferPointer<UInt8>, _ span: StringSpan, into out: inout [UInt8]) {
        if !span.escaped {
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[span.start..<span.end]))
            return
        }
        var i = span.start
        func hex4(_ at: Int) -> UInt32 {
            var v: UInt32 = 0
            for k in 0..<4 { v = v << 4 | (hexValue(bytes[at + k]) ?? 0) }
            return v
        }
        while i < span.end {
            if bytes[i] != 0x5C {
                var j = i + 1
                while j < span.end, bytes[j] != 0x5C { j += 1 }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<j]))
                i = j
                continue
            }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var scalar = hex4(i)
                i += 4
                if scalar >= 0xD800, scalar < 0xDC00 {
                    if i + 6 <= span.end, bytes[i] == 0x5C, bytes[i + 1] == 0x75 {
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
                appendScalar(scalar, to: &out)
            default: out.append(e)  // " \ /
            }
        }
    }

    static func appendScalar(_ s: UInt32, to out: inout [UInt8]) {
        switch s {
        case 0..<0x80: out.append(UInt8(s))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | s >> 6)); out.append(UInt8(0x80 | s & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | s >> 12)); out.append(UInt8(0x80 | s >> 6 & 0x3F))
            out.append(UInt8(0x80 | s & 0x3F))
        default:
            out.append(UInt8(0xF0 | s >> 18)); out.append(UInt8(0x80 | s >> 12 & 0x3F))
            out.append(UInt8(0x80 | s >> 6 & 0x3F)); out.append(UInt8(0x80 | s & 0x3F))
        }
    }
}
