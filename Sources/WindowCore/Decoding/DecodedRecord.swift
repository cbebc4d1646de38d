/// A range of bytes in a decoder's arena.
public struct ByteRange: Sendable, Equatable {
    public var start: Int32
    public var count: Int32
    public static let empty = ByteRange(start: 0, count: 0)

    @inlinable
    public init(start: Int32, count: Int32) {
        self.start = start
        self.count = count
    }
    @inlinable public var isEmpty: Bool { count == 0 }
}

/// Receipt statuses the rules distinguish; anything else is counted by its text.
public enum ReceiptStatus: UInt8, Sendable, CaseIterable {
    case delivered, read, queuedOnChannel, failed, switchingChannel, other

    public var name: String {
        switch self {
        case .delivered: "DELIVERED"
        case .read: "READ"
        case .queuedOnChannel: "QUEUED_ON_CHANNEL"
        case .failed: "FAILED"
        case .switchingChannel: "SWITCHING_CHANNEL"
        case .other: "OTHER"
        }
    }

    /// DELIVERED or READ: a receipt that carries pricing (SPEC section 2).
    public var isPricing: Bool { self == .delivered || self == .read }
}

public enum PricingModel: UInt8, Sendable {
    case cbp, pmp
}

/// A usable record, as far as decoding can tell (clock checks come later).
/// Strings live in the decoder's arena, already unescaped and normalised.
public struct DecodedRecord: Sendable {
    public enum Kind: UInt8, Sendable {
        case inbound, receipt
        /// A Meta `value.contacts[]` entry carrying both `wa_id` and `user_id` (SPEC section
        /// 12): it links `phone` to `userID` before the change's other items. Not a record:
        /// not counted, never sent to windows; only a webhook item has this kind.
        case link
    }

    public var kind: Kind = .inbound
    public var whatsapp = false
    public var injected = false
    /// A Meta `type:"system"` message (also `injected`: counted, moves the clock, no window).
    public var system = false
    /// A Meta `calls[]` item (or a status of a `calls` change): counted as a call. A user's
    /// `connect` call (`USER_INITIATED`) is a contact message; any other is also `injected`.
    public var call = false
    /// A group's record (a message with `group_id`, a status with `recipient_type` `group`):
    /// `contact` is `group:<group id>`; a message's `phone` and `userID` are its
    /// sender's (they link, nothing more), a group status has none.
    public var group = false
    /// Whether any pricing information was found (conversation id, category, model or type).
    public var hasPricing = false
    /// Why the contact is empty, when it is (the `missing_contact` detail).
    public var contactNote = ContactNote.sinch
    public var status: ReceiptStatus = .other
    /// The status text, for counting unknown statuses.
    public var statusText = ByteRange.empty
    /// Event time, UTC milliseconds.
    public var time: Int64 = 0
    public var app = ByteRange.empty
    /// The contact key part before links are resolved (SPEC sections 2 and 12): for a group
    /// `group:<group id>`; else the BSUID if the item has one; else the normalised phone
    /// (Sinch: identity without spaces and one leading `+`, else contact_id).
    /// `contactHash` and `keyHash` are computed on it.
    public var contact = ByteRange.empty
    /// The normalised phone the item carries (empty if none; never `contact_id`).
    public var phone = ByteRange.empty
    /// The business-scoped user id (BSUID) the item carries, trimmed of surrounding spaces,
    /// case kept (empty if none).
    public var userID = ByteRange.empty
    public var contactID = ByteRange.empty
    // Pricing information (receipts only).
    public var badMetadata = false
    public var conversationID = ByteRange.empty
    public var category = ByteRange.empty
    public var model: PricingModel?
    /// Type FREE_ENTRY_POINT, or category FREE_ENTRY_POINT / REFERRAL_CONVERSION.
    public var freeEntryPoint = false
    /// WhatsApp records: `RoutingHash.contact` of (app, contact), and with a conversation id
    /// `RoutingHash.conversation` (computed while decoding, which runs in parallel).
    public var contactHash: UInt64 = 0
    public var keyHash: UInt64 = 0

    public init() {}
}

/// Where a record's contact came from, for the `missing_contact` detail.
public enum ContactNote: UInt8, Sendable {
    /// Sinch: identity and contact_id absent or empty.
    case sinch
    case sinchIdentityNotString, sinchContactIDNotString, sinchNeitherString
    case metaFromAbsent, metaFromNotString, metaRecipientAbsent, metaRecipientNotString
    /// Present but empty (SPEC section 12: named as empty, not as missing).
    case sinchIdentityEmpty, sinchContactIDEmpty, sinchBothEmpty, metaFromEmpty, metaRecipientEmpty
    /// A status with `recipient_type` `group` and no group id in `recipient_id`.
    case metaGroupWithoutID

    public var detail: String {
        switch self {
        case .sinch: "no channel_identity.identity and no contact_id"
        case .sinchIdentityNotString: "channel_identity.identity is not a string, and no contact_id"
        case .sinchContactIDNotString: "no channel_identity.identity, and contact_id is not a string"
        case .sinchNeitherString: "channel_identity.identity and contact_id are not strings"
        case .metaFromAbsent: "no from"
        case .metaFromNotString: "from is not a string"
        case .metaRecipientAbsent: "no recipient_id"
        case .metaRecipientNotString: "recipient_id is not a string"
        case .sinchIdentityEmpty: "channel_identity.identity is empty, and no contact_id"
        case .sinchContactIDEmpty: "no channel_identity.identity, and contact_id is empty"
        case .sinchBothEmpty: "channel_identity.identity and contact_id are empty"
        case .metaFromEmpty: "from is empty"
        case .metaRecipientEmpty: "recipient_id is empty"
        case .metaGroupWithoutID: "group status without a group id (recipient_id absent or empty)"
        }
    }
}

/// What one line turned out to be.
public enum LineOutcome: Sendable {
    case blank
    /// Another callback kind: skipped and counted; it does not move the clock.
    case skipped
    case rejected(Diagnostic, detail: String)
    case record
    /// A Meta webhook body: its items are the decoder's `items` (each a record, a skipped
    /// change or a rejected item), in the order SPEC section 11 gives.
    case webhook(items: Int)
}
