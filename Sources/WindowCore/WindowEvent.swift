/// One event of the window feed (SPEC section 5), as values.
public struct WindowEvent: Sendable, Equatable {
    public var event: EventKind
    public var window: WindowKind
    public var pmp: Bool
    public var app: String
    public var contact: String
    public var contactID: String
    public var category: String
    public var conversationID: String
    public var openedAt: Int64
    public var expiresAt: Int64
    /// Warning lead in ms (`window_expiring` only; 0 otherwise).
    public var lead: Int64
    public var dueAt: Int64

    public init(event: EventKind, window: WindowKind, pmp: Bool, app: String, contact: String,
                contactID: String, category: String, conversationID: String,
                openedAt: Int64, expiresAt: Int64, lead: Int64, dueAt: Int64) {
        self.event = event
        self.window = window
        self.pmp = pmp
        self.app = app
        self.contact = contact
        self.contactID = contactID
        self.category = category
        self.conversationID = conversationID
        self.openedAt = openedAt
        self.expiresAt = expiresAt
        self.lead = lead
        self.dueAt = dueAt
    }

    /// The stable event id: a hash of (app_id, contact, window, conversation id, event,
    /// opened_at, expires_at, lead).
    public var id: UInt64 {
        withText { EventText.id(event, window, $0, openedAt: openedAt, expiresAt: expiresAt, lead: lead) }
    }

    /// Appends the NDJSON line (keys in SPEC order, empty values omitted).
    public func encode(into out: inout ByteBuffer) {
        withText { EventText.encode(event, window, $0, openedAt: openedAt, expiresAt: expiresAt, lead: lead, dueAt: dueAt, into: &out) }
    }

    private func withText<R>(_ body: (EventText) -> R) -> R {
        EventText.withBytes(app) { a in
            EventText.withBytes(contact) { c in
                EventText.withBytes(contactID) { i in
                    EventText.withBytes(category) { g in
                        EventText.withBytes(conversationID) { v in
                            body(EventText(app: a, contact: c, contactID: i, category: g, conversationID: v))
                        }
                    }
                }
            }
        }
    }

    /// The NDJSON line as bytes (tests, tools).
    public var encoded: [UInt8] {
        var b = ByteBuffer(capacity: 512)
        encode(into: &b)
        return b.array
    }
}

extension EventKind {
    var jsonName: StaticString {
        switch self {
        case .opened: "window_opened"
        case .updated: "window_updated"
        case .expiring: "window_expiring"
        case .expired: "window_expired"
        }
    }
}

extension WindowKind {
    /// The `window` value in the feed.
    public var jsonName: StaticString {
        switch self {
        case .customerService: "customer_service"
        case .conversation: "conversation"
        case .freeEntryPoint: "free_entry_point"
        }
    }
}

/// The text fields of one event as UTF-8 bytes: the one encoder of the feed works on these,
/// for the engine (straight from its window table) and for `WindowEvent` values alike.
public struct EventText {
    public var app: UnsafeRawBufferPointer
    public var contact: UnsafeRawBufferPointer
    public var contactID: UnsafeRawBufferPointer
    public var category: UnsafeRawBufferPointer
    public var conversationID: UnsafeRawBufferPointer
    /// Set when none of the five holds a byte that must be escaped (the engine knows it of
    /// its stores): they are then copied without being checked.
    public var plain: Bool

    public init(app: UnsafeRawBufferPointer, contact: UnsafeRawBufferPointer, contactID: UnsafeRawBufferPointer,
                category: UnsafeRawBufferPointer, conversationID: UnsafeRawBufferPointer, plain: Bool = false) {
        self.app = app
        self.contact = contact
        self.contactID = contactID
        self.category = category
        self.conversationID = conversationID
        self.plain = plain
    }

    /// The UTF-8 bytes of a string, without copying a native string.
    @inline(__always)
    public static func withBytes<R>(_ s: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if let r = s.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) { return r }
        var copy = s
        return copy.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    /// The stable event id (SPEC section 5): a hash of app_id, contact, window, conversation
    /// id, event, opened_at, expires_at and lead, eight bytes per step.
    public static func id(_ event: EventKind, _ window: WindowKind, _ t: EventText,
                          openedAt: Int64, expiresAt: Int64, lead: Int64) -> UInt64 {
        var h = WordHash()
        h.add(t.app)
        h.add(t.contact)
        h.add(UInt64(window.rawValue) | UInt64(event.rawValue) << 8)
        h.add(t.conversationID)
        h.add(UInt64(bitPattern: openedAt))
        h.add(UInt64(bitPattern: expiresAt))
        h.add(UInt64(bitPattern: lead))
        return h.mixed
    }

    /// Appends the NDJSON line of one event (keys in SPEC order, empty values omitted).
    /// Room for the whole line is reserved once; every write below goes through a cursor.
    public static func encode(_ event: EventKind, _ window: WindowKind, _ t: EventText,
                              openedAt: Int64, expiresAt: Int64, lead: Int64, dueAt: Int64,
                              into out: inout ByteBuffer) {
        let text = t.app.count &+ t.contact.count &+ t.contactID.count &+ t.category.count &+ t.conversationID.count
        out.reserve(text &* 6 &+ Self.fixedBytes)
        var c = out.cursor
        c.put("{\"event\":\"")
        c.put(event.jsonName)
        c.put("\",\"window\":\"")
        c.put(window.jsonName)
        c.put(0x22)
        if t.app.count > 0 { c.put(",\"app_id\":"); EventEncoder.putString(t.app, &c, plain: t.plain) }
        if t.contact.count > 0 { c.put(",\"contact\":"); EventEncoder.putString(t.contact, &c, plain: t.plain) }
        if t.contactID.count > 0 { c.put(",\"contact_id\":"); EventEncoder.putString(t.contactID, &c, plain: t.plain) }
        if t.category.count > 0 { c.put(",\"category\":"); EventEncoder.putString(t.category, &c, plain: t.plain) }
        if t.conversationID.count > 0 { c.put(",\"conversation_id\":"); EventEncoder.putString(t.conversationID, &c, plain: t.plain) }
        c.put(",\"opened_at\":")
        let opened = c.p
        EventEncoder.putTime(openedAt, &c, &out.dates)
        let openedBytes = c.p - opened
        c.put(",\"expires_at\":")
        let expires = c.p
        if (expiresAt &- openedAt) % Timestamp.dayMillis == 0 {
            // Whole days apart (a window as opened): the same time of day, copied.
            c.put(0x22)
            _ = Timestamp.putDay(expiresAt, to: &c, dates: &out.dates)
            c.put(opened + (openedBytes &- Timestamp.timeOfDayBytes &- 1), Timestamp.timeOfDayBytes &+ 1)
        } else {
            EventEncoder.putTime(expiresAt, &c, &out.dates)
        }
        let expiresBytes = c.p - expires
        if event == .expiring {
            c.put(",\"remaining_s\":")
            EventEncoder.putDecimal(lead / 1_000, &c)
        }
        c.put(",\"due_at\":")
        // An opening is due when it opens and an expiry when it expires: copy that time.
        if dueAt == openedAt {
            c.put(opened, openedBytes)
        } else if dueAt == expiresAt {
            c.put(expires, expiresBytes)
        } else {
            EventEncoder.putTime(dueAt, &c, &out.dates)
        }
        c.put(",\"id\":")
        EventEncoder.putHex(id(event, window, t, openedAt: openedAt, expiresAt: expiresAt, lead: lead), &c)
        c.put(0x7D)
        c.put(0x0A)
        out.commit(c)
    }

    /// Room an event line needs besides its strings (six bytes per string byte at most):
    /// keys and names, three times of at most `Timestamp.maxBytes` plus quotes, a decimal
    /// and the id, with room to spare.
    static let fixedBytes = 512
}

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
    var mixed: UInt64 {
        var z = h
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

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
