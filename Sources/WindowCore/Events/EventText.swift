/// The text fields of one event as UTF-8 bytes: the one encoder of the feed works on these,
/// for the engine (straight from its window table) and for `WindowEvent` values alike.
public struct EventText {
    public var app: UnsafeRawBufferPointer
    public var contact: UnsafeRawBufferPointer
    public var contactID: UnsafeRawBufferPointer
    public var category: UnsafeRawBufferPointer
    public var conversationID: UnsafeRawBufferPointer
    /// The phone linked to `contact` when it is a business-scoped user id (SPEC section 12);
    /// empty for everyone else, and then the line is what it was before user ids.
    public var phone = UnsafeRawBufferPointer(start: nil, count: 0)
    /// Set when none of the five holds a byte that must be escaped (the engine knows it of
    /// its stores): they are then copied without being checked.
    public var plain: Bool

    public init(app: UnsafeRawBufferPointer, contact: UnsafeRawBufferPointer, contactID: UnsafeRawBufferPointer,
                category: UnsafeRawBufferPointer, conversationID: UnsafeRawBufferPointer, plain: Bool = false,
                phone: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) {
        self.phone = phone
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
        let text = t.app.count &+ t.contact.count &+ t.phone.count &+ t.contactID.count &+ t.category.count &+ t.conversationID.count
        out.reserve(text &* 6 &+ Self.fixedBytes)
        var c = out.cursor
        c.put("{\"event\":\"")
        c.put(event.jsonName)
        c.put("\",\"window\":\"")
        c.put(window.jsonName)
        c.put(0x22)
        if t.app.count > 0 { c.put(",\"app_id\":"); EventEncoder.putString(t.app, &c, plain: t.plain) }
        if t.contact.count > 0 { c.put(",\"contact\":"); EventEncoder.putString(t.contact, &c, plain: t.plain) }
        if t.phone.count > 0 { c.put(",\"phone\":"); EventEncoder.putString(t.phone, &c, plain: t.plain) }
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

    /// The id of a `contact_linked` event: a hash of app_id, contact, the kind, phone and due_at.
    public static func linkedID(_ t: EventText, dueAt: Int64) -> UInt64 {
        var h = WordHash()
        h.add(t.app)
        h.add(t.contact)
        h.add(UInt64(EventKind.linked.rawValue) << 8)
        h.add(t.phone)
        h.add(UInt64(bitPattern: dueAt))
        return h.mixed
    }

    /// Appends the NDJSON line of a `contact_linked` event (SPEC section 12): `event`,
    /// `app_id`, `contact` (the user id), `phone`, `due_at` (the linking item's time), `id`.
    public static func encodeLinked(_ t: EventText, dueAt: Int64, into out: inout ByteBuffer) {
        out.reserve((t.app.count &+ t.contact.count &+ t.phone.count) &* 6 &+ Self.fixedBytes)
        var c = out.cursor
        c.put("{\"event\":\"contact_linked\"")
        if t.app.count > 0 { c.put(",\"app_id\":"); EventEncoder.putString(t.app, &c, plain: t.plain) }
        c.put(",\"contact\":")
        EventEncoder.putString(t.contact, &c, plain: t.plain)
        c.put(",\"phone\":")
        EventEncoder.putString(t.phone, &c, plain: t.plain)
        c.put(",\"due_at\":")
        EventEncoder.putTime(dueAt, &c, &out.dates)
        c.put(",\"id\":")
        EventEncoder.putHex(linkedID(t, dueAt: dueAt), &c)
        c.put(0x7D)
        c.put(0x0A)
        out.commit(c)
    }

    /// Room an event line needs besides its strings (six bytes per string byte at most):
    /// keys and names, three times of at most `Timestamp.maxBytes` plus quotes, a decimal
    /// and the id, with room to spare.
    static let fixedBytes = 512
}
