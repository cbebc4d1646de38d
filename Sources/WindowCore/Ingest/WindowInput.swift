/// A record that can change windows, as a shard receives it. Strings are ranges in an
/// arena that travels with it (a batch's, or a decoder's).
public struct WindowInput: Sendable {
    public enum Operation: UInt8, Sendable {
        /// A WhatsApp inbound message that is not injected (customer service window).
        case contactMessage
        /// A CBP pricing receipt with a conversation id (conversation or CBP free entry point).
        case keyedReceipt
        /// A PMP free-entry-point receipt.
        case pmpFreeEntry
    }

    public var operation: Operation
    /// Free-entry-point receipt (chooses the kind of a keyed window).
    public var freeEntryPoint: Bool
    public var time: Int64
    /// `RoutingHash.contact` of (app, contact).
    public var contactHash: UInt64
    public var app: ByteRange
    public var contact: ByteRange
    public var contactID: ByteRange
    public var category: ByteRange
    public var conversationID: ByteRange
    /// Keyed receipts: `RoutingHash.conversation` of the contact hash and conversation id.
    public var keyHash: UInt64

    public init(operation: Operation, freeEntryPoint: Bool, time: Int64, contactHash: UInt64,
                app: ByteRange, contact: ByteRange, contactID: ByteRange = .empty,
                category: ByteRange = .empty, conversationID: ByteRange = .empty, keyHash: UInt64 = 0) {
        self.keyHash = keyHash
        self.operation = operation
        self.freeEntryPoint = freeEntryPoint
        self.time = time
        self.contactHash = contactHash
        self.app = app
        self.contact = contact
        self.contactID = contactID
        self.category = category
        self.conversationID = conversationID
    }

    /// The input with each of its string ranges passed through `f` (moving them to another
    /// arena).
    @inline(__always)
    public func mapStrings(_ f: (ByteRange) -> ByteRange) -> WindowInput {
        var moved = self
        moved.app = f(app)
        moved.contact = f(contact)
        moved.contactID = f(contactID)
        moved.category = f(category)
        moved.conversationID = f(conversationID)
        return moved
    }
}
