/// One open or remembered window as it is saved in a state file: everything needed to carry
/// on exactly where the engine was, warnings emitted included.
public struct SavedWindow: Sendable, Equatable {
    public var kind: WindowKind
    public var pmp: Bool
    public var open: Bool
    /// Warning leads (largest first) already done for the current `expires`.
    public var warnDone: UInt8
    public var opened: Int64
    public var expires: Int64
    public var last: Int64
    public var app: String
    public var contact: String
    public var contactID: String
    public var category: String
    public var conversationID: String

    public init(kind: WindowKind, pmp: Bool, open: Bool, warnDone: UInt8, opened: Int64, expires: Int64, last: Int64,
                app: String, contact: String, contactID: String, category: String, conversationID: String) {
        self.kind = kind; self.pmp = pmp; self.open = open; self.warnDone = warnDone
        self.opened = opened; self.expires = expires; self.last = last
        self.app = app; self.contact = contact; self.contactID = contactID
        self.category = category; self.conversationID = conversationID
    }

    /// The routing hash of its contact.
    public var contactHash: UInt64 {
        var a = app, c = contact
        return a.withUTF8 { ab in c.withUTF8 { FNV1a.contactHash(app: ab, contact: $0) } }
    }
}

extension WindowEngine {
    /// Every open and remembered window of this shard.
    public func savedWindows() -> [SavedWindow] {
        var out: [SavedWindow] = []
        out.reserveCapacity(windows.count - freeWindows.count)
        var free = Set(freeWindows)
        for (i, w) in windows.enumerated() where !free.contains(Int32(i)) {
            let c = contacts[Int(w.contact)]
            out.append(SavedWindow(kind: w.kind, pmp: w.pmp, open: w.open, warnDone: w.warnDone, opened: w.opened,
                                   expires: w.expires, last: w.last, app: c.app, contact: c.contact,
                                   contactID: w.contactID, category: w.category, conversationID: w.conversationID))
        }
        free.removeAll()
        return out
    }

    /// Puts a saved window back, with its timers; the clock comes from `restoreClock`.
    public mutating func restore(_ s: SavedWindow) {
        var arena: [UInt8] = []
        func put(_ text: String) -> ByteRange {
            let start = arena.count
            arena.append(contentsOf: text.utf8)
            return ByteRange(start: Int32(start), count: Int32(arena.count - start))
        }
        let input = WindowInput(operation: .contactMessage, freeEntryPoint: false, time: s.opened,
                                contactHash: s.contactHash, app: put(s.app), contact: put(s.contact),
                                contactID: put(s.contactID), category: put(s.category), conversationID: put(s.conversationID))
        arena.withUnsafeBufferPointer { a in
            let c = contactSlot(input, a)
            let slot = newWindow(contact: c, kind: s.kind, pmp: s.pmp, opened: s.opened, input, a)
            windows[Int(slot)].expires = s.expires
            windows[Int(slot)].last = s.last
            windows[Int(slot)].open = s.open
            windows[Int(slot)].warnDone = s.warnDone
            if s.kind == .customerService {
                contacts[Int(c)].customerService = slot
            } else {
                contacts[Int(c)].others.append(slot)
                if !s.pmp {
                    let key = Self.keyHash(contactHash: input.contactHash, id: slice(a, input.conversationID))
                    windows[Int(slot)].keyHash = key
                    keyedIndex.insert(key, slot)
                }
            }
            if s.open { counters.open[Int(s.kind.rawValue)] += 1 } else { counters.remembered += 1 }
            schedule(slot)
        }
    }

    /// Sets the clock a restored shard continues from (timers due by then fire at the next advance).
    public mutating func restoreClock(_ c: Int64) {
        clock = c
    }
}
