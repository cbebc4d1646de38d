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
                                   expires: w.expires, last: w.last, app: text.string(apps[Int(c.app)]),
                                   contact: text.string(c.contact), contactID: text.string(w.contactID),
                                   category: text.string(w.category), conversationID: text.string(w.conversationID)))
        }
        free.removeAll()
        return out
    }

    /// Puts a saved window back, with its timers; the clock comes from `restoreClock`.
    /// Uses the saved strings as they are (no re-decoding).
    public mutating func restore(_ s: SavedWindow) {
        let hash = s.contactHash
        let c = EventText.withBytes(s.app) { app in
            EventText.withBytes(s.contact) { contact in
                contactIndex.find(hash, {
                    text.equals(contacts[Int($0)].contact, contact.assumingMemoryBound(to: UInt8.self))
                        && text.equals(apps[Int(contacts[Int($0)].app)], app.assumingMemoryBound(to: UInt8.self))
                }) ?? addContact(hash: hash, app: app, contact: contact)
            }
        }
        let slot = storeWindow(Window(contact: c, kind: s.kind, pmp: s.pmp, open: s.open, warnDone: s.warnDone, seq: 0,
                                      opened: s.opened, expires: s.expires, last: s.last, heapDue: .max, keyHash: 0,
                                      contactID: text.add(s.contactID), category: text.add(s.category),
                                      conversationID: text.add(s.conversationID)))
        if s.kind == .customerService {
            contacts[Int(c)].customerService = slot
        } else {
            contacts[Int(c)].others.append(slot)
            if !s.pmp {
                var id = s.conversationID
                let key = id.withUTF8 { Self.keyHash(contactHash: hash, id: $0) }
                windows[Int(slot)].keyHash = key
                keyedIndex.insert(key, slot)
            }
        }
        if s.open { counters.open[Int(s.kind.rawValue)] += 1 } else { counters.remembered += 1 }
        schedule(slot)
    }

    /// Sizes the tables for `windows` more windows before a restore.
    public mutating func reserve(windows n: Int) {
        windows.reserveCapacity(windows.count + n)
        contacts.reserveCapacity(contacts.count + n)
        contactIndex.reserve(contactIndex.count + n)
    }

    /// Sets the clock a restored shard continues from (timers due by then fire at the next advance).
    public mutating func restoreClock(_ c: Int64) {
        clock = c
    }
}
