/// An open-addressing hash index from 64-bit hashes to slots of a side table.
///
/// An entry keeps the high half of the hash (its tag) and the slot: 8 bytes. The home
/// position is the tag's top bits, so hashes in ascending order visit the table from front
/// to back (a state file lists contacts in that order: restoring sweeps the table instead of
/// missing the cache on every contact). Equal tags are told apart by a caller-supplied `matches` check
/// against the real key, so hash collisions never merge two contacts. Deletion leaves
/// tombstones; the table is rebuilt when they pile up.
struct SlotIndex {
    /// Tag and slot side by side: one cache line visit per probe.
    private struct Entry {
        var tag: UInt32
        var slot: Int32
    }

    private var entries: [Entry]
    private var mask: Int
    /// 32 minus log2 of the table size: the home is the tag's top bits.
    private var shift: UInt32
    private(set) var count = 0
    private var tombstones = 0
    private static let empty: Int32 = -1
    private static let tombstone: Int32 = -2

    init(capacity: Int = 16) {
        var cap = 16
        while cap < capacity * 2 { cap <<= 1 }
        entries = Array(repeating: Entry(tag: 0, slot: Self.empty), count: cap)
        mask = cap - 1
        shift = Self.shift(capacity: cap)
    }

    private static func shift(capacity: Int) -> UInt32 { UInt32(32 + capacity.leadingZeroBitCount - Int.bitWidth + 1) }

    /// The stored part of a hash. The high half: contact hashes are routed to shards by
    /// their low bits, which are therefore alike within one shard.
    @inline(__always)
    private static func tag(_ hash: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: hash >> 32) }

    /// The home position of a tag: its top bits (tables stay far below 2^32 entries).
    @inline(__always)
    private func home(_ tag: UInt32) -> Int { Int(tag >> shift) }

    /// Grows the table once for `n` entries (restoring a state), instead of step by step.
    mutating func reserve(_ n: Int) {
        var cap = entries.count
        while (n + tombstones) * 4 > cap * 3 { cap <<= 1 }
        if cap > entries.count { rebuild(capacity: cap) }
    }

    func find(_ hash: UInt64, _ matches: (Int32) -> Bool) -> Int32? {
        let tag = Self.tag(hash)
        var i = home(tag)
        while true {
            let e = entries[i]
            if e.slot == Self.empty { return nil }
            if e.slot >= 0, e.tag == tag, matches(e.slot) { return e.slot }
            i = (i + 1) & mask
        }
    }

    /// The slot at the hash's home position (or a negative marker), without a key check:
    /// a load only, for warming caches ahead of `find`.
    @inline(__always)
    func slotAtHome(_ hash: UInt64) -> Int32 { entries[home(Self.tag(hash))].slot }

    mutating func insert(_ hash: UInt64, _ slot: Int32) {
        if (count + tombstones + 1) * 4 > entries.count * 3 {
            // Grow when live entries fill the table; otherwise just sweep the tombstones out.
            rebuild(capacity: (count + 1) * 2 > entries.count / 2 ? entries.count * 2 : entries.count)
        }
        let tag = Self.tag(hash)
        var i = home(tag)
        while entries[i].slot >= 0 { i = (i + 1) & mask }
        if entries[i].slot == Self.tombstone { tombstones -= 1 }
        entries[i] = Entry(tag: tag, slot: slot)
        count += 1
    }

    mutating func remove(_ hash: UInt64, _ slot: Int32) {
        var i = home(Self.tag(hash))
        while true {
            let s = entries[i].slot
            if s == Self.empty { return }
            if s == slot {
                entries[i].slot = Self.tombstone
                count -= 1
                tombstones += 1
                return
            }
            i = (i + 1) & mask
        }
    }

    private mutating func rebuild(capacity cap: Int) {
        let old = entries
        entries = Array(repeating: Entry(tag: 0, slot: Self.empty), count: cap)
        mask = cap - 1
        shift = Self.shift(capacity: cap)
        count = 0
        tombstones = 0
        for e in old where e.slot >= 0 {
            var j = home(e.tag)
            while entries[j].slot >= 0 { j = (j + 1) & mask }
            entries[j] = e
            count += 1
        }
    }
}
