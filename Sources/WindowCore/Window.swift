/// One window (open, or expired and remembered) in a shard's window table.
struct Window {
    var contact: Int32
    var kind: WindowKind
    var pmp: Bool
    /// False once expired: the window is only remembered (keyed and free-entry-point kinds).
    var open: Bool
    /// How many warning leads (largest first) are done for the current `expires`.
    var warnDone: UInt8
    /// Bumped on every (re)scheduling and on release: heap entries with another seq are stale.
    var seq: UInt32
    var opened: Int64
    var expires: Int64
    /// The latest event time of a receipt that opened or belonged to the window.
    var last: Int64
    /// Due time of this window's live heap entry; `Int64.max` when there is none.
    var heapDue: Int64
    /// Hash in the keyed index (CBP keyed windows only).
    var keyHash: UInt64
    /// Strings in the engine's `TextStore`.
    var contactID: TextRef
    var category: TextRef
    var conversationID: TextRef
}

/// One contact: (app_id, contact) and the windows it has.
struct Contact {
    var hash: UInt64
    /// Index in the engine's interned app ids.
    var app: UInt32
    var contact: TextRef
    /// The customer service window slot, or -1.
    var customerService: Int32 = -1
    /// Conversation and free-entry-point windows, open or remembered.
    var others: [Int32] = []

    var isEmpty: Bool { customerService < 0 && others.isEmpty }
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
