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
            // Callbacks rarely have whitespace between tokens: one compare rules it out.
            let b = bytes[pos]
            if b > 0x20 { return }
            switch b {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    /// Consumes `byte` (after whitespace) if it is next. Callbacks rarely have whitespace
    /// between tokens, so the byte right at the cursor is tried inline first.
    @inlinable @inline(__always)
    public mutating func consume(_ byte: UInt8) -> Bool {
        if pos < bytes.count, bytes[pos] == byte { pos += 1; return true }
        return consumeAfterWhitespace(byte)
    }

    @usableFromInline
    mutating func consumeAfterWhitespace(_ byte: UInt8) -> Bool {
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == byte { pos += 1; return true }
        return false
    }

    /// Scans a string starting at the opening quote; returns the span of its content.
    /// Runs of plain bytes are skipped sixteen at a time by a mask of the bytes that end them.
    /// The cursor lives in a register until the end (on failure `pos` is left at the
    /// offending byte).
    @inlinable @inline(__always)
    public mutating func scanString() -> StringSpan? { scanString(ByteMasks.self) }

    /// `scanString` with the masks of `kernel` (the tests hold the kernels against each other).
    @inlinable @inline(__always)
    mutating func scanString<K: ByteMaskKernel>(_ kernel: K.Type) -> StringSpan? {
        let n = bytes.count
        var p = pos
        guard p < n, bytes[p] == 0x22 else { return nil }
        p &+= 1
        let start = p
        var escaped = false
        let raw = UnsafeRawPointer(bytes.baseAddress!)
        while true {
            if p &+ 16 <= n {
                // Sixteen bytes per step: bit i of the mask is set when byte p + i is '"',
                // '\\' or a control byte, so the lowest bit is the next byte to look at.
                let special = K.stringSpecial16(raw + p)
                if special == 0 {
                    p &+= 16
                    continue
                }
                p &+= special.trailingZeroBitCount
            } else if p &+ 8 <= n {
                let special = Self.specialBytes(raw.loadUnaligned(fromByteOffset: p, as: UInt64.self))
                if special == 0 {
                    p &+= 8
                    continue
                }
                // The lowest flag is exact: jump straight to the first special byte.
                p &+= special.trailingZeroBitCount &>> 3
            } else if p >= n {
                pos = p
                return nil
            }
            let c = raw.load(fromByteOffset: p, as: UInt8.self)
            if c == 0x22 {
                pos = p &+ 1
                return StringSpan(start: start, end: p, escaped: escaped)
            }
            if c == 0x5C {
                escaped = true
                p &+= 1
                guard p < n else { pos = p; return nil }
                switch raw.load(fromByteOffset: p, as: UInt8.self) {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: p &+= 1
                case 0x75:
                    guard p &+ 4 < n else { pos = p; return nil }
                    for k in 1...4 where JSONScanner.hexValue(bytes[p &+ k]) == nil { pos = p; return nil }
                    p &+= 5
                default: pos = p; return nil
                }
            } else if c < 0x20 {
                pos = p
                return nil
            } else {
                p &+= 1
            }
        }
    }

    /// High bit set in each byte of `w` that may be '"', '\\' or a control character; the
    /// lowest flagged byte is always one of them (borrows only run upwards). Bytes of 0x80 and
    /// above are never flagged, and all three targets are below 0x80, so one `& ~w` serves
    /// the three tests.
    @inlinable @inline(__always)
    static func specialBytes(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let q = w ^ 0x2222_2222_2222_2222, b = w ^ 0x5C5C_5C5C_5C5C_5C5C
        return ((q &- ones) | (b &- ones) | (w &- 0x2020_2020_2020_2020)) & ~w & 0x8080_8080_8080_8080
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
    mutating func scanScalar<K: ByteMaskKernel>(_ kernel: K.Type) -> Bool {
        guard pos < bytes.count else { return false }
        switch bytes[pos] {
        case 0x22: return scanString(K.self) != nil
        case 0x74: return scanLiteral("true")
        case 0x66: return scanLiteral("false")
        case 0x6E: return scanLiteral("null")
        default: return scanNumber()
        }
    }

    /// `skipValue` with the common case, a string right at the cursor, inline.
    @inlinable @inline(__always)
    public mutating func skipAnyValue() -> Bool {
        if pos < bytes.count, bytes[pos] == 0x22 { return scanString() != nil }
        return skipValue()
    }

    /// Skips one complete value of any kind (after whitespace); false when it is malformed.
    public mutating func skipValue() -> Bool { skipValue(ByteMasks.self) }

    /// `skipValue` with the masks of `kernel`.
    mutating func skipValue<K: ByteMaskKernel>(_ kernel: K.Type) -> Bool {
        skipWhitespace()
        guard pos < bytes.count else { return false }
        let first = bytes[pos]
        guard first == 0x7B || first == 0x5B else { return scanScalar(K.self) }
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
                    guard b == 0x22, scanString(K.self) != nil, consume(0x3A) else { return false }
                    skipWhitespace()
                    guard pos < n else { return false }
                }
                let v = bytes[pos]
                if v == 0x7B || v == 0x5B {
                    push(v == 0x7B)
                    pos += 1
                    empty = true
                } else {
                    guard scanScalar(K.self) else { return false }
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

    /// Walks the elements of the array at the current position (which must be `[`), calling
    /// `element` with each index; `element` must consume the value (or return false).
    @inlinable
    public mutating func scanArray(_ element: (inout JSONScanner, Int) -> Bool) -> Bool {
        skipWhitespace()
        guard pos < bytes.count, bytes[pos] == 0x5B else { return false }
        pos += 1
        if consume(0x5D) { return true }
        var index = 0
        while true {
            skipWhitespace()
            guard element(&self, index) else { return false }
            index += 1
            if consume(0x2C) { continue }
            return consume(0x5D)
        }
    }

    /// True when the content of `span` equals `literal` once unescaped (inline: the literal's
    /// length is then a constant, and the compare a word or two).
    @inlinable @inline(__always)
    public func equals(_ span: StringSpan, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        let p = literal.utf8Start
        if !span.escaped {
            guard span.count == n else { return false }
            return Self.sameBytes(UnsafeRawPointer(bytes.baseAddress! + span.start), UnsafeRawPointer(p), n)
        }
        return escapedEquals(span, literal)
    }

    /// `equals` for a span written with escapes: compares the unescaped bytes.
    @usableFromInline
    func escapedEquals(_ span: StringSpan, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        let p = literal.utf8Start
        var scratch: [UInt8] = []
        JSONScanner.unescape(bytes, span, into: &scratch)
        guard scratch.count == n else { return false }
        for k in 0..<n where scratch[k] != p[k] { return false }
        return true
    }

    /// Whether `n` bytes at `a` and `b` are equal: word loads that stay inside both ranges
    /// (overlapping for lengths that are not a multiple of 8), no library call.
    @inlinable @inline(__always)
    static func sameBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
        if n >= 8 {
            var i = 0
            while i + 8 < n {
                if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
                i += 8
            }
            return a.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == b.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        }
        if n >= 4 {
            return a.loadUnaligned(as: UInt32.self) == b.loadUnaligned(as: UInt32.self)
                && a.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self) == b.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
        }
        for i in 0..<n where a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        return true
    }

    /// The high bit of every byte of `w` that is a backslash (exact in every byte).
    @inlinable @inline(__always)
    static func backslashBytes(_ w: UInt64) -> UInt64 {
        let x = w ^ 0x5C5C_5C5C_5C5C_5C5C
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        return ~(((x & low7) &+ low7) | x) & ~low7
    }

    /// The offset of the first backslash in `bytes[from..<to]`, or `to`: eight bytes per step.
    @inlinable
    static func firstBackslash(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, to end: Int) -> Int {
        let raw = UnsafeRawPointer(bytes.baseAddress!)
        var p = from
        while p &+ 8 <= end {
            let flags = backslashBytes(raw.loadUnaligned(fromByteOffset: p, as: UInt64.self))
            if flags != 0 { return p &+ (flags.trailingZeroBitCount &>> 3) }
            p &+= 8
        }
        while p < end, raw.load(fromByteOffset: p, as: UInt8.self) != 0x5C { p &+= 1 }
        return p
    }

    /// Compares `n` bytes at `a` with `lower`, ASCII letters case-insensitively, a word at a
    /// time: whether they match, and whether exactly. `lower` must hold only lower-case ASCII
    /// letters and '_' (bytes whose 0x20 bit is set only where they are letters).
    @inlinable @inline(__always)
    static func foldedSameBytes(_ a: UnsafeRawPointer, _ lower: UnsafeRawPointer, _ n: Int) -> (match: Bool, exact: Bool) {
        // A byte matches when it differs from the literal's in nothing, or only in the 0x20
        // bit where the literal has a letter (then it is that letter in upper case).
        var differs: UInt64 = 0
        @inline(__always) func step(_ x: UInt64, _ y: UInt64) -> Bool {
            let d = x ^ y
            differs |= d
            return d & ~(y & 0x2020_2020_2020_2020) == 0
        }
        if n >= 8 {
            var i = 0
            while i &+ 8 < n {
                guard step(a.loadUnaligned(fromByteOffset: i, as: UInt64.self), lower.loadUnaligned(fromByteOffset: i, as: UInt64.self)) else {
                    return (false, false)
                }
                i &+= 8
            }
            let ok = step(a.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self), lower.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self))
            return (ok, ok && differs == 0)
        }
        if n >= 4 {
            @inline(__always) func two(_ p: UnsafeRawPointer) -> UInt64 {
                UInt64(p.loadUnaligned(as: UInt32.self)) | UInt64(p.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)) << 32
            }
            let ok = step(two(a), two(lower))
            return (ok, ok && differs == 0)
        }
        for i in 0..<n {
            guard step(UInt64(a.load(fromByteOffset: i, as: UInt8.self)), UInt64(lower.load(fromByteOffset: i, as: UInt8.self))) else {
                return (false, false)
            }
        }
        return (true, differs == 0)
    }
}
