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
