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
    /// The phone linked to `contact` (a business-scoped user id), or empty (SPEC section 12).
    /// A `contact_linked` event has only `app`, `contact`, `phone` and `dueAt`.
    public var phone: String

    public init(event: EventKind, window: WindowKind, pmp: Bool, app: String, contact: String,
                contactID: String, category: String, conversationID: String,
                openedAt: Int64, expiresAt: Int64, lead: Int64, dueAt: Int64, phone: String = "") {
        self.phone = phone
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
        withText { event == .linked ? EventText.linkedID($0, dueAt: dueAt)
            : EventText.id(event, window, $0, openedAt: openedAt, expiresAt: expiresAt, lead: lead) }
    }

    /// A `contact_linked` event.
    public static func linked(app: String, contact: String, phone: String, dueAt: Int64) -> WindowEvent {
        WindowEvent(event: .linked, window: .customerService, pmp: false, app: app, contact: contact, contactID: "",
                    category: "", conversationID: "", openedAt: 0, expiresAt: 0, lead: 0, dueAt: dueAt, phone: phone)
    }

    /// Appends the NDJSON line (keys in SPEC order, empty values omitted).
    public func encode(into out: inout ByteBuffer) {
        withText { t in
            if event == .linked {
                EventText.encodeLinked(t, dueAt: dueAt, into: &out)
            } else {
                EventText.encode(event, window, t, openedAt: openedAt, expiresAt: expiresAt, lead: lead, dueAt: dueAt, into: &out)
            }
        }
    }

    private func withText<R>(_ body: (EventText) -> R) -> R {
        EventText.withBytes(app) { a in
            EventText.withBytes(contact) { c in
                EventText.withBytes(contactID) { i in
                    EventText.withBytes(category) { g in
                        EventText.withBytes(conversationID) { v in
                            EventText.withBytes(phone) { p in
                                body(EventText(app: a, contact: c, contactID: i, category: g, conversationID: v, phone: p))
                            }
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
        case .linked: "contact_linked"
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
