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
}

/// One contact: (app_id, contact) and the windows it has. Its hash is not kept: it is
/// recomputed from the two strings on the rare occasions it is needed again. Its customer
/// service window is the `ServiceWindow` at the same index.
struct Contact {
    /// Index in the engine's interned app ids.
    var app: UInt32
    var contact: TextRef
    /// The first of its conversation and free-entry-point windows, open or remembered
    /// (linked through `KeyedPart.next`), or -1.
    var firstOther: Int32 = -1
}

/// A contact's customer service window, kept beside its `Contact` (the same index in the
/// engine's `services`) instead of in the window table: the most numerous windows carry no
/// contact link, kind or keyed part, and the contact no link to them. 32 bytes.
///
/// Elsewhere it is addressed by the window slot `~c` (negative) of its contact `c`, and
/// seen through `WindowEngine.subscript(window:)` as a `Window`.
struct ServiceWindow {
    var opened: Int64
    var expires: Int64
    /// As `Window.heapDue`.
    var heapDue: Int64
    /// In the engine's `contactIDs` store.
    var contactID: TextRef
    var warnDone: UInt8
    /// False when the contact has no customer service window (the other fields are unused).
    var present: Bool

    static let none = ServiceWindow(opened: 0, expires: 0, heapDue: .max, contactID: .empty, warnDone: 0, present: false)
}

/// Counts a shard keeps for the summary.
public struct EngineCounters: Sendable, Equatable {
    public var events: [Int] = Array(repeating: 0, count: EventKind.allCases.count)
    /// Windows not opened because they were already over (and PMP stragglers).
    public var late = 0
    /// Open windows by kind (customer service, conversation, free entry point).
    public var open: [Int] = [0, 0, 0]
    /// Expired windows still remembered.
    public var remembered = 0

    public init() {}

    public mutating func add(_ o: EngineCounters) {
        for i in events.indices { events[i] += o.events[i] }
        for i in open.indices { open[i] += o.open[i] }
        late += o.late
        remembered += o.remembered
    }
}
