/// An open-addressing hash index from 64-bit hashes to slots of a side table.
///
/// Equal hashes are told apart by a caller-supplied `matches` check against the real key,
/// so hash collisions never merge two contacts. Deletion leaves tombstones; the table is
/// rebuilt when they pile up.
struct SlotIndex {
    private var slots: [Int32]
    private var hashes: [UInt64]
    private var mask: Int
    private(set) var count = 0
    private var tombstones = 0
    private static let empty: Int32 = -1
    private static let tombstone: Int32 = -2

    init(capacity: Int = 16) {
        var cap = 16
        while cap < capacity * 2 { cap <<= 1 }
        slots = Array(repeating: Self.empty, count: cap)
        hashes = Array(repeating: 0, count: cap)
        mask = cap - 1
    }

    /// Grows the table once for `n` entries (restoring a state), instead of step by step.
    mutating func reserve(_ n: Int) {
        var cap = slots.count
        while (n + tombstones) * 4 > cap * 3 { cap <<= 1 }
        if cap > slots.count { rebuild(capacity: cap) }
    }

    func find(_ hash: UInt64, _ matches: (Int32) -> Bool) -> Int32? {
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let s = slots[i]
            if s == Self.empty { return nil }
            if s >= 0, hashes[i] == hash, matches(s) { return s }
            i = (i + 1) & mask
        }
    }

    mutating func insert(_ hash: UInt64, _ slot: Int32) {
        if (count + tombstones + 1) * 4 > slots.count * 3 {
            // Grow when live entries fill the table; otherwise just sweep the tombstones out.
            rebuild(capacity: (count + 1) * 2 > slots.count / 2 ? slots.count * 2 : slots.count)
        }
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        if slots[i] == Self.tombstone { tombstones -= 1 }
        slots[i] = slot
        hashes[i] = hash
        count += 1
    }

    mutating func remove(_ hash: UInt64, _ slot: Int32) {
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let s = slots[i]
            if s == Self.empty { return }
            if s == slot {
                slots[i] = Self.tombstone
                count -= 1
                tombstones += 1
                return
            }
            i = (i + 1) & mask
        }
    }

    private mutating func rebuild(capacity cap: Int) {
        let oldSlots = slots, oldHashes = hashes
        slots = Array(repeating: Self.empty, count: cap)
        hashes = Array(repeating: 0, count: cap)
        mask = cap - 1
        count = 0
        tombstones = 0
        for i in 0..<oldSlots.count where oldSlots[i] >= 0 {
            var j = Int(truncatingIfNeeded: oldHashes[i]) & mask
            while slots[j] >= 0 { j = (j + 1) & mask }
            slots[j] = oldSlots[i]
            hashes[j] = oldHashes[i]
            count += 1
        }
    }
}
