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
        var h = FNV1a()
        h.add(app); h.addByte(0x1F)
        h.add(contact); h.addByte(0x1F)
        h.addByte(window.rawValue); h.addByte(0x1F)
        h.add(conversationID); h.addByte(0x1F)
        h.addByte(event.rawValue)
        h.add(openedAt)
        h.add(expiresAt)
        h.add(lead)
        return h.mixed
    }

    /// Appends the NDJSON line (keys in SPEC order, empty values omitted).
    public func encode(into out: inout ByteBuffer) {
        out.append("{\"event\":\"")
        out.append(event.jsonName)
        out.append("\",\"window\":\"")
        out.append(window.jsonName)
        out.put(0x22)
        if !app.isEmpty { out.append(",\"app_id\":"); EventEncoder.appendString(app, &out) }
        if !contact.isEmpty { out.append(",\"contact\":"); EventEncoder.appendString(contact, &out) }
        if !contactID.isEmpty { out.append(",\"contact_id\":"); EventEncoder.appendString(contactID, &out) }
        if !category.isEmpty { out.append(",\"category\":"); EventEncoder.appendString(category, &out) }
        if !conversationID.isEmpty { out.append(",\"conversation_id\":"); EventEncoder.appendString(conversationID, &out) }
        out.append(",\"opened_at\":")
        EventEncoder.appendTime(openedAt, &out)
        out.append(",\"expires_at\":")
        EventEncoder.appendTime(expiresAt, &out)
        if event == .expiring {
            out.append(",\"remaining_s\":")
            out.appendDecimal(lead / 1_000)
        }
        out.append(",\"due_at\":")
        EventEncoder.appendTime(dueAt, &out)
        out.append(",\"id\":")
        EventEncoder.appendHex(id, &out)
        out.reserve(2)
        out.put(0x7D)
        out.put(0x0A)
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

/// JSON writing helpers over reused byte buffers.
public enum EventEncoder {
    /// A JSON string literal: quotes, backslashes and control characters escaped.
    public static func appendString(_ s: String, _ out: inout ByteBuffer) {
        let plain: Bool? = s.utf8.withContiguousStorageIfAvailable { buf in
            for b in buf where b < 0x20 || b == 0x22 || b == 0x5C { return false }
            out.reserve(buf.count + 2)
            out.put(0x22)
            out.append(UnsafeRawBufferPointer(buf))
            out.put(0x22)
            return true
        }
        if plain != true { appendEscaped(Array(s.utf8), &out) }
    }

    private static func appendEscaped(_ bytes: [UInt8], _ out: inout ByteBuffer) {
        out.reserve(bytes.count * 6 + 2)
        out.put(0x22)
        for b in bytes {
            switch b {
            case 0x22: out.put(0x5C); out.put(0x22)
            case 0x5C: out.put(0x5C); out.put(0x5C)
            case 0x0A: out.put(0x5C); out.put(0x6E)
            case 0x0D: out.put(0x5C); out.put(0x72)
            case 0x09: out.put(0x5C); out.put(0x74)
            case 0..<0x20:
                out.put(0x5C); out.put(0x75); out.put(0x30); out.put(0x30)
                out.put(hexDigit(b >> 4)); out.put(hexDigit(b & 0xF))
            default: out.put(b)
            }
        }
        out.put(0x22)
    }

    /// A quoted UTC time with three fraction digits.
    public static func appendTime(_ millis: Int64, _ out: inout ByteBuffer) {
        out.reserve(32)
        out.put(0x22)
        Timestamp.append(millis, to: &out)
        out.put(0x22)
    }

    public static func appendHex(_ v: UInt64, _ out: inout ByteBuffer) {
        out.reserve(18)
        out.put(0x22)
        for shift in stride(from: 60, through: 0, by: -4) { out.put(hexDigit(UInt8(truncatingIfNeeded: v >> UInt64(shift)) & 0xF)) }
        out.put(0x22)
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
