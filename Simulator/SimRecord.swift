/// One callback the simulator decided to send, before it is written as a line.
struct SimRecord {
    enum Kind {
        case inbound(injected: Bool)
        case receipt(status: String)
        /// Another callback kind (skipped by the processor).
        case other(key: String)
    }

    /// Pricing information as the simulator sets it in `message_metadata`.
    struct Pricing {
        var conversationID: String?
        var category: String?
        var model: String?  // "CBP" / "PMP" as written (any case), nil = not written
        var type: String?
    }

    var kind: Kind
    var app: String
    /// The contact's number (the normalised key); `identity` is how this line writes it.
    var number: String
    var identity: String
    var contactID: String
    var channel = "WHATSAPP"
    /// Event time, UTC ms.
    var time: Int64
    var pricing: Pricing?
    /// A line built to be rejected: the diagnostic it must produce (clock-independent ones).
    var malformed: String?
    /// A receipt whose `message_metadata` is not an object (processed without pricing).
    var badMetadata = false

    /// The ids of an `--identities bsuid|mixed` record (nil: the phone-only stream, keyed by
    /// `number`). Set by `IdentityPlanner`; the writers narrow them to what the line carries.
    var ids: Ids?
    /// A Meta `calls[]` item instead of a message (`kind` is `.inbound(injected: false)` for a
    /// user's connect, which is a contact message, else `.inbound(injected: true)`).
    var call: Call?
    /// Set by the Meta writer on the first `messages[]` item of a change whose `contacts[]`
    /// entry carries both ids: the link learned before that item (SPEC 12).
    var contactsLink: Link?
    /// Written as a Meta item (set by the writer, for the model's counts only).
    var writtenAsMeta = false

    struct Ids: Equatable {
        /// Normalised phone, and the BSUID (as written).
        var phone: String?
        var bsuid: String?
        /// A group message (`group_id`) or a group status (`recipient_type` "group").
        var group: String?
    }

    struct Link: Equatable {
        var phone: String
        var bsuid: String
    }

    enum Call: Equatable {
        case userConnect
        case other(event: String, direction: String)
    }

    /// A Meta system message: counted, moves the clock, links nothing.
    var isSystemMessage: Bool {
        if call == nil, case .inbound(true) = kind { return true }
        return false
    }
}
