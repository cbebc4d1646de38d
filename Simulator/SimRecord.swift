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
}
