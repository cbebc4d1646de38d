/// One pending timer: a window slot due at `due`. It is live while the window's `heapDue`
/// is still `due`; otherwise it is stale and skipped.
public struct TimerEntry: Sendable, Equatable {
    public var due: Int64
    public var slot: Int32

    @inline(__always)
    public init(due: Int64, slot: Int32) {
        self.due = due
        self.slot = slot
    }
}

/// The timers of one shard, earliest first: its one timer structure.
///
/// Entries are never removed from the middle: a window that reschedules earlier pushes a
/// new entry, and stale entries are skipped when they surface (lazy cancellation).
///
/// Nearly every due time lies within days of the clock, so entries are kept as a 32-bit
/// offset from a base time (8 bytes each, not 16): the near heap covers `base` to about 49
/// days after it. A due time outside that span goes to a second heap of full entries; the
/// base moves forward (every offset shifted at once, which keeps the heap order) when a due
/// time beyond the span arrives and the earliest near timer is far enough past the base.
public struct TimerHeap: Sendable {
    private var near = MinHeap<NearEntry>()
    private var far = MinHeap<TimerEntry>()
    private var base: Int64 = 0

    public init() {}

    public var count: Int { near.count + far.count }
    public var isEmpty: Bool { near.count == 0 && far.count == 0 }
    /// How many entries are in the heap of full entries (tests).
    var farCount: Int { far.count }

    public var top: TimerEntry? {
        let n = near.top.map { entry($0) }
        guard let f = far.top else { return n }
        guard let n else { return f }
        return f.due < n.due ? f : n
    }

    public mutating func push(_ e: TimerEntry) {
        if let offset = place(e.due) { near.push(NearEntry(offset: offset, slot: e.slot)) } else { far.push(e) }
    }

    public mutating func pop() -> TimerEntry? {
        guard let n = near.top else { return far.pop() }
        if let f = far.top, f.due < entry(n).due { return far.pop() }
        _ = near.pop()
        return entry(n)
    }

    public mutating func removeAll() {
        near.items.removeAll()
        far.items.removeAll()
    }

    /// Adds an entry without restoring heap order (bulk loading); `heapify` must follow
    /// before the next `push`, `pop` or `top`.
    mutating func appendUnordered(_ e: TimerEntry) {
        // The base may only move while the near heap is empty: its order is not kept yet.
        if near.count == 0 { _ = rebase(toward: e.due) }
        if let offset = offset(e.due) { near.items.append(NearEntry(offset: offset, slot: e.slot)) } else { far.items.append(e) }
    }

    /// Restores heap order in O(n) after `appendUnordered`.
    mutating func heapify() {
        near.heapify()
        far.heapify()
    }

    @inline(__always)
    private func entry(_ n: NearEntry) -> TimerEntry { TimerEntry(due: base &+ Int64(n.offset), slot: n.slot) }

    /// The near heap's offset for `due`, moving the base if that makes it fit; nil when it
    /// belongs in the far heap.
    @inline(__always)
    private mutating func place(_ due: Int64) -> UInt32? {
        if let offset = offset(due) { return offset }
        guard rebase(toward: due) else { return nil }
        return offset(due)
    }

    @inline(__always)
    private func offset(_ due: Int64) -> UInt32? {
        let (d, overflow) = due.subtractingReportingOverflow(base)
        return !overflow && d >= 0 && d <= Int64(UInt32.max) ? UInt32(d) : nil
    }

    /// Moves the base so that `due` may fit: anywhere while the near heap is empty, else
    /// forward to its earliest entry, if that is at least a quarter of the span ahead (each
    /// shift costs a pass over the entries, so it must buy weeks).
    private mutating func rebase(toward due: Int64) -> Bool {
        guard let first = near.top else {
            base = due > Int64.min + Self.halfSpan ? due - Self.halfSpan : Int64.min
            return true
        }
        guard due > base, first.offset >= Self.minShift else { return false }
        let shift = first.offset
        for i in near.items.indices { near.items[i].offset -= shift }
        base += Int64(shift)
        return true
    }

    /// A new base puts the first due time in the middle of the span (timers of records a
    /// little in the past fit too).
    private static let halfSpan: Int64 = 1 << 31
    private static let minShift: UInt32 = 1 << 30
}

/// A near-heap entry: due at the heap's base plus `offset` milliseconds.
struct NearEntry: HeapKeyed {
    var offset: UInt32
    var slot: Int32
    @inline(__always) var key: Int64 { Int64(offset) }
}

extension TimerEntry: HeapKeyed {
    @inline(__always) var key: Int64 { due }
}

protocol HeapKeyed {
    var key: Int64 { get }
}

/// A binary min-heap by `key`.
private struct MinHeap<E: HeapKeyed & Sendable>: Sendable {
    var items: [E] = []

    var count: Int { items.count }
    var top: E? { items.first }

    // The loops work on the buffer: `items[i]` would check bounds and uniqueness on every
    // step (the same steps, so the same order among equal keys).
    mutating func push(_ e: E) {
        items.append(e)
        items.withUnsafeMutableBufferPointer { h in
            var i = h.count &- 1
            while i > 0 {
                let parent = (i &- 1) / 2
                guard h[parent].key > e.key else { break }
                h[i] = h[parent]
                i = parent
            }
            h[i] = e
        }
    }

    mutating func pop() -> E? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        siftDown(last, from: 0)
        return first
    }

    /// Puts `e` at position `start` or below, moving smaller children up.
    private mutating func siftDown(_ e: E, from start: Int) {
        items.withUnsafeMutableBufferPointer { h in
            let n = h.count
            var i = start
            while true {
                let l = 2 &* i &+ 1
                if l >= n { break }
                let r = l &+ 1
                let c = r < n && h[r].key < h[l].key ? r : l
                guard h[c].key < e.key else { break }
                h[i] = h[c]
                i = c
            }
            h[i] = e
        }
    }

    mutating func heapify() {
        guard items.count > 1 else { return }
        for start in stride(from: items.count / 2 - 1, through: 0, by: -1) { siftDown(items[start], from: start) }
    }
}
