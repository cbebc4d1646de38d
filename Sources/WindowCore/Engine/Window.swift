/// One conversation or free-entry-point window (open, or expired and remembered) in a
/// shard's window table; customer service windows are `ServiceWindow`s, seen as a `Window`
/// through `WindowEngine.subscript(window:)`.
struct Window {
    /// The contact's slot; -1 once the slot is free.
    var contact: Int32
    var kind: WindowKind
    var pmp: Bool
    /// False once expired: the window is only remembered (keyed and free-entry-point kinds).
    var open: Bool
    /// How many warning leads (largest first) are done for the current `expires`.
    var warnDone: UInt8
    /// Conversation and free-entry-point windows: their `KeyedPart` in the engine's
    /// `keyedParts`; -1 for customer service windows (which have none).
    var keyed: Int32 = -1
    /// In the engine's `contactIDs` store. (Declared here, it fills what would be padding
    /// before the times: the struct is 40 bytes.)
    var contactID: TextRef
    var opened: Int64
    var expires: Int64
    /// Due time of this window's live heap entry; `Int64.max` when there is none. Heap
    /// entries with another due time are stale (a slot's earlier occupant's entry with the
    /// same due time stands for this window's own: firing is the same evaluation either way).
    var heapDue: Int64
}

/// What only conversation and free-entry-point windows have (kept out of `Window`, so that
/// the far more numerous customer service windows do not carry it).
struct KeyedPart {
    /// The latest event time of a receipt that opened or belonged to the window (what
    /// decides when a remembered window is forgotten; customer service windows are never
    /// remembered).
    var last: Int64
    /// In the engine's `TextStore`.
    var category: TextRef
    var conversationID: TextRef
    /// The contact's next such window (in order of creation), or -1.
    var next: Int32 = -1
    /// The contact's previous such window; the first one's is the last (so that adding at
    /// the end and taking out anywhere cost the same however many windows a contact has).
    /// Fills what was padding: the struct stays 24 bytes.
    var prev: Int32 = -1
}
