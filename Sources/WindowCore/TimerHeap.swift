/// One pending timer: a window slot due at `due`. It is live while the window's `heapDue`
/// is still `due`; otherwise it is stale and skipped.
///
/// The due time is kept as two 32-bit halves, so the entry is 12 bytes, not 16 (an `Int64`
/// field would align it to 8).
public struct TimerEntry: Sendable, Equatable {
    private var dueLow: UInt32
    private var dueHigh: Int32
    public var slot: Int32

    @inline(__always)
    public init(due: Int64, slot: Int32) {
        dueLow = UInt32(truncatingIfNeeded: due)
        dueHigh = Int32(truncatingIfNeeded: due >> 32)
        self.slot = slot
    }

    @inline(__always)
    public var due: Int64 { Int64(dueHigh) << 32 | Int64(dueLow) }
}

/// A binary min-heap of timers ordered by due time: the one timer structure of a shard.
///
/// Entries are never removed from the middle: a window that reschedules bumps its `seq`, and
/// stale entries are skipped when they surface (lazy cancellation).
/// An entry is stale when its window's `heapDue` is no longer its due time.
public struct TimerHeap: Sendable {
    public private(set) var entries: [TimerEntry] = []

    public init() {}

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    public var top: TimerEntry? { entries.first }

    public mutating func push(_ e: TimerEntry) {
        entries.append(e)
        var i = entries.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard entries[parent].due > e.due else { break }
            entries[i] = entries[parent]
            i = parent
        }
        entries[i] = e
    }

    public mutating func pop() -> TimerEntry? {
        guard let first = entries.first else { return nil }
        let last = entries.removeLast()
        if entries.isEmpty { return first }
        siftDown(last, from: 0)
        return first
    }

    /// Puts `e` at position `start` or below, moving smaller children up.
    private mutating func siftDown(_ e: TimerEntry, from start: Int) {
        let n = entries.count
        var i = start
        while true {
            let l = 2 * i + 1
            if l >= n { break }
            let r = l + 1
            let c = r < n && entries[r].due < entries[l].due ? r : l
            guard entries[c].due < e.due else { break }
            entries[i] = entries[c]
            i = c
        }
        entries[i] = e
    }

    public mutating func removeAll() { entries.removeAll() }

    /// Adds an entry without restoring heap order (bulk loading); `heapify` must follow
    /// before the next `push`, `pop` or `top`.
    mutating func appendUnordered(_ e: TimerEntry) { entries.append(e) }

    /// Restores heap order in O(n) after `appendUnordered`.
    mutating func heapify() {
        guard entries.count > 1 else { return }
        for start in stride(from: entries.count / 2 - 1, through: 0, by: -1) { siftDown(entries[start], from: start) }
    }
}
