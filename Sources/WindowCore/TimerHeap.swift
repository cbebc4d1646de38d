/// One pending timer: a window slot due at `due`, valid while `seq` matches the window's.
public struct TimerEntry: Sendable, Equatable {
    public var due: Int64
    public var slot: Int32
    public var seq: UInt32

    public init(due: Int64, slot: Int32, seq: UInt32) {
        self.due = due
        self.slot = slot
        self.seq = seq
    }
}

/// A binary min-heap of timers ordered by due time: the one timer structure of a shard.
///
/// Entries are never removed from the middle: a window that reschedules bumps its `seq`, and
/// stale entries are skipped when they surface (lazy cancellation).
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
