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
    public func encode(into out: inout [UInt8]) {
        EventEncoder.appendKey("event", first: true, &out)
        EventEncoder.appendString(event.name, &out)
        EventEncoder.appendKey("window", &out)
        EventEncoder.appendString(window.name, &out)
        if !app.isEmpty { EventEncoder.appendKey("app_id", &out); EventEncoder.appendString(app, &out) }
        if !contact.isEmpty { EventEncoder.appendKey("contact", &out); EventEncoder.appendString(contact, &out) }
        if !contactID.isEmpty { EventEncoder.appendKey("contact_id", &out); EventEncoder.appendString(contactID, &out) }
        if !category.isEmpty { EventEncoder.appendKey("category", &out); EventEncoder.appendString(category, &out) }
        if !conversationID.isEmpty {
            EventEncoder.appendKey("conversation_id", &out)
            EventEncoder.appendString(conversationID, &out)
        }
        EventEncoder.appendKey("opened_at", &out)
        EventEncoder.appendTime(openedAt, &out)
        EventEncoder.appendKey("expires_at", &out)
        EventEncoder.appendTime(expiresAt, &out)
        if event == .expiring {
            EventEncoder.appendKey("remaining_s", &out)
            out.append(contentsOf: String(lead / 1_000).utf8)
        }
        EventEncoder.appendKey("due_at", &out)
        EventEncoder.appendTime(dueAt, &out)
        EventEncoder.appendKey("id", &out)
        EventEncoder.appendHex(id, &out)
        out.append(0x7D)
        out.append(0x0A)
    }
}

/// Small JSON writing helpers over reused byte buffers.
public enum EventEncoder {
    public static func appendKey(_ key: StaticString, first: Bool = false, _ out: inout [UInt8]) {
        out.append(first ? 0x7B : 0x2C)
        out.append(0x22)
        out.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        out.append(0x22)
        out.append(0x3A)
    }


    /// A JSON string literal: quotes, backslashes and control characters escaped.
    public static func appendString(_ s: String, _ out: inout [UInt8]) {
        out.append(0x22)
        var s = s
        let plain = s.withUTF8 { buf -> Bool in
            for b in buf where b < 0x20 || b == 0x22 || b == 0x5C { return false }
            out.append(contentsOf: buf)
            return true
        }
        if plain {
            out.append(0x22)
            return
        }
        for b in s.utf8 {
            switch b {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(0x6E)
            case 0x0D: out.append(0x5C); out.append(0x72)
            case 0x09: out.append(0x5C); out.append(0x74)
            case 0..<0x20:
                out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30])
                out.append(hexDigit(b >> 4)); out.append(hexDigit(b & 0xF))
            default: out.append(b)
            }
        }
        out.append(0x22)
    }

    public static func appendTime(_ millis: Int64, _ out: inout [UInt8]) {
        out.append(0x22)
        Timestamp.append(millis, to: &out)
        out.append(0x22)
    }

    public static func appendHex(_ v: UInt64, _ out: inout [UInt8]) {
        out.append(0x22)
        for shift in stride(from: 60, through: 0, by: -4) { out.append(hexDigit(UInt8(truncatingIfNeeded: v >> UInt64(shift)) & 0xF)) }
        out.append(0x22)
    }

    @inline(__always)
    static func hexDigit(_ n: UInt8) -> UInt8 { n < 10 ? 0x30 + n : 0x57 + n }
}
