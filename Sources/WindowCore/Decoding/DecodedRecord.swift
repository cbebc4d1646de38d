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
    public enum Kind: UInt8, Sendable { case inbound, receipt }

    public var kind: Kind = .inbound
    public var whatsapp = false
    public var injected = false
    /// A Meta `type:"system"` message (also `injected`: counted, moves the clock, no window).
    public var system = false
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
    /// The normalised contact key part (identity without spaces and leading `+`, else contact_id).
    public var contact = ByteRange.empty
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
