/// People known by a phone and a business-scoped user id (SPEC section 12), on the engine's
/// side: the phone shown on the events of a user id it is linked to, and a phone's windows
/// joined to the user id's when the two are linked. Which key a record belongs to is decided
/// before routing, in line order (`IdentityLinks`); the engine is told through `PersonNote`.
extension WindowEngine {
    /// Applies one record under the key and phone its ids resolved to (SPEC step 3).
    public mutating func apply(_ input: WindowInput, in arena: UnsafeBufferPointer<UInt8>, person: PersonNote?) {
        let c: Int32
        if let person, !person.key.isEmpty {
            c = person.key.withUnsafeBufferPointer { contactSlot(hash: input.contactHash, app: slice(arena, input.app), contact: $0) }
        } else {
            c = contactSlot(input, arena)
        }
        if let person, !person.phone.isEmpty {
            phones[c] = LinkedPhone(phone: person.phone, until: person.until)
        } else if !phones.isEmpty {
            phones[c] = nil  // no phone is linked to it (any more)
        }
        apply(input, arena, contact: c)
    }

    /// Sets the phone linked to the user id (app, contact), if this shard holds it.
    public mutating func notePhone(app: UnsafeBufferPointer<UInt8>, contact: UnsafeBufferPointer<UInt8>, _ note: PersonNote) {
        let hash = RoutingHash.contact(app: app, contact: contact)
        guard let c = contactIndex.find(hash, { s in
            text.equals(contacts[Int(s)].contact, contact) && text.equals(apps[Int(contacts[Int(s)].app)], app)
        }) else { return }
        if note.phone.isEmpty { phones[c] = nil } else { phones[c] = LinkedPhone(phone: note.phone, until: note.until) }
    }

    /// The phone shown on contact `c`'s events now: linked, and the link not yet forgotten
    /// (it is forgotten once the clock passes `until`, before that pass fires anything).
    @inline(__always)
    func shownPhone(_ c: Int32) -> LinkedPhone? {
        guard !phones.isEmpty, let p = phones[c], clock <= p.until else { return nil }
        return p
    }

    /// Takes every open and remembered window of (app, contact) out of this shard, emitting
    /// nothing: the windows of a phone about to be joined to the user id it was linked to.
    public mutating func takeWindows(app: UnsafeBufferPointer<UInt8>, contact: UnsafeBufferPointer<UInt8>) -> [SavedWindow] {
        let hash = RoutingHash.contact(app: app, contact: contact)
        guard let c = contactIndex.find(hash, { s in
            text.equals(contacts[Int(s)].contact, contact) && text.equals(apps[Int(contacts[Int(s)].app)], app)
        }) else { return [] }
        func string(_ b: UnsafeRawBufferPointer) -> String { String(decoding: b, as: UTF8.self) }
        let appText = string(UnsafeRawBufferPointer(app)), contactText = string(UnsafeRawBufferPointer(contact))
        var taken: [SavedWindow] = []
        var slots: [Int32] = []
        if let s = serviceSlot(c) { slots.append(s) }
        var s = contacts[Int(c)].firstOther
        while s >= 0 {
            slots.append(s)
            s = nextOther(s)
        }
        for s in slots {
            let w = self[window: s]
            taken.append(SavedWindow(kind: w.kind, pmp: w.pmp, open: w.open, warnDone: w.warnDone, opened: w.opened, expires: w.expires,
                                     last: last(w), app: appText, contact: contactText, contactID: string(contactIDs.bytes(w.contactID)),
                                     category: string(text.bytes(category(w))), conversationID: string(text.bytes(conversationID(w)))))
            release(s)
        }
        releaseContactIfEmpty(c)
        return taken
    }

    /// Links `phone` to the user id (app, contact) at `t` (the linking item's event time):
    /// `contact_linked`, then the phone's windows `moved` joined to the user id's by the
    /// merge rules of SPEC section 12. A window the user id lacks moves over unchanged; of two
    /// customer service windows the later expiry stays (a `window_updated` when the user id's
    /// changes); a keyed window whose conversation id the user id has (open or remembered),
    /// and an open PMP free entry point when the user id has an open one, are dropped (a
    /// contact has at most one open; remembered PMP ones always move).
    public mutating func link(app: UnsafeBufferPointer<UInt8>, contact: UnsafeBufferPointer<UInt8>, phone: [UInt8], until: Int64,
                              at t: Int64, moved: [SavedWindow]) {
        let hash = RoutingHash.contact(app: app, contact: contact)
        let c = contactSlot(hash: hash, app: app, contact: contact)
        phones[c] = LinkedPhone(phone: phone, until: until)
        emitLinked(c, at: t)
        var hadOpenPMPEntry = false
        var s = contacts[Int(c)].firstOther
        while s >= 0 {
            if windows[Int(s)].pmp, windows[Int(s)].open { hadOpenPMPEntry = true }
            s = nextOther(s)
        }
        for w in moved {
            if w.kind == .customerService {
                joinService(w, contact: c, at: t)
            } else if w.pmp ? !(w.open && hadOpenPMPEntry) : !hasConversation(w.conversationID, contact: c, hash: hash) {
                Self.withBytes(w) { contactID, category, conversationID in
                    _ = insertSaved(contact: c, contactHash: hash, kind: w.kind, pmp: w.pmp, open: w.open, warnDone: w.warnDone,
                                    opened: w.opened, expires: w.expires, last: w.last, contactID: contactID,
                                    category: category, conversationID: conversationID)
                }
            }
        }
        releaseContactIfEmpty(c)
    }

    private mutating func joinService(_ w: SavedWindow, contact c: Int32, at t: Int64) {
        guard let s = serviceSlot(c) else {
            Self.withBytes(w) { contactID, _, _ in
                _ = insertSaved(contact: c, contactHash: 0, kind: .customerService, pmp: false, open: true, warnDone: w.warnDone,
                                opened: w.opened, expires: w.expires, last: w.opened, contactID: contactID,
                                category: UnsafeBufferPointer(start: nil, count: 0), conversationID: UnsafeBufferPointer(start: nil, count: 0))
            }
            return
        }
        guard w.expires > serviceExpires(c) else { return }
        setServiceExpires(c, w.expires)
        setWarnDone(s, 0)
        emit(.updated, s, due: t, lead: 0, inPass: false)
        schedule(s)
    }

    private func hasConversation(_ id: String, contact c: Int32, hash: UInt64) -> Bool {
        var id = id
        return id.withUTF8 { bytes in
            keyedIndex.find(RoutingHash.conversation(contactHash: hash, id: bytes)) { s in
                windows[Int(s)].contact == c && text.equals(conversationID(windows[Int(s)]), bytes)
            } != nil
        }
    }

    private static func withBytes<R>(_ w: SavedWindow, _ body: (UnsafeRawBufferPointer, UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> R) -> R {
        var contactID = w.contactID, category = w.category, conversationID = w.conversationID
        return contactID.withUTF8 { i in
            category.withUTF8 { g in conversationID.withUTF8 { v in body(UnsafeRawBufferPointer(i), g, v) } }
        }
    }

    /// Puts one open or remembered window into contact `c` as it was saved (a restore, a join),
    /// timers scheduled; returns its slot. A customer service window needs no `contactHash`.
    mutating func insertSaved(contact c: Int32, contactHash hash: UInt64, kind: WindowKind, pmp: Bool, open: Bool, warnDone: UInt8,
                              opened: Int64, expires: Int64, last: Int64, contactID: UnsafeRawBufferPointer,
                              category: UnsafeBufferPointer<UInt8>, conversationID: UnsafeBufferPointer<UInt8>) -> Int32 {
        let slot: Int32
        if kind == .customerService {
            slot = newServiceWindow(contact: c, opened: opened, expires: expires, warnDone: warnDone, contactID: contactID)
        } else {
            var w = Window(contact: c, kind: kind, pmp: pmp, open: open, warnDone: warnDone,
                           contactID: contactIDs.add(contactID), opened: opened, expires: expires, heapDue: .max)
            w.keyed = addKeyedPart(last: last, category: text.add(category), conversationID: text.add(conversationID))
            slot = storeWindow(w)
            appendOther(slot, to: c)
            if !pmp { keyedIndex.insert(RoutingHash.conversation(contactHash: hash, id: conversationID), slot) }
        }
        if open { counters.open[Int(kind.rawValue)] += 1 } else { counters.remembered += 1 }
        schedule(slot)
        return slot
    }

    /// `contact_linked` for contact `c` and its linked phone (SPEC section 12).
    private mutating func emitLinked(_ c: Int32, at t: Int64) {
        counters.events[Int(EventKind.linked.rawValue)] += 1
        let entry = contacts[Int(c)]
        let phone = phones[c]?.phone ?? []
        phone.withUnsafeBytes { p in
            let text = EventText(app: self.text.bytes(apps[Int(entry.app)]), contact: self.text.bytes(entry.contact),
                                 contactID: UnsafeRawBufferPointer(start: nil, count: 0), category: UnsafeRawBufferPointer(start: nil, count: 0),
                                 conversationID: UnsafeRawBufferPointer(start: nil, count: 0), plain: false, phone: p)
            EventText.encodeLinked(text, dueAt: t, into: &output)
            if recordsEvents {
                func string(_ b: UnsafeRawBufferPointer) -> String { String(decoding: b, as: UTF8.self) }
                events.append(.linked(app: string(text.app), contact: string(text.contact), phone: string(p), dueAt: t))
            }
        }
    }
}

/// The phone linked to a contact that is a user id, shown on its events while the clock is
/// at or before `until` (the link's L + horizon, SPEC section 12).
struct LinkedPhone {
    var phone: [UInt8]
    var until: Int64
}

/// How a record's ids resolved, when it is not simply under its decoded contact with no
/// phone (SPEC section 12): the key it is applied under, and the phone linked to that key.
public struct PersonNote: Sendable, Equatable {
    /// The key when it is not the record's decoded contact (a phone resolved to the user id it
    /// is linked to); else empty. The record's `contactHash` is already the key's.
    public var key: [UInt8]
    /// The phone linked to the key; empty when none.
    public var phone: [UInt8]
    /// The clock past which the link is forgotten (L + horizon).
    public var until: Int64

    public init(key: [UInt8] = [], phone: [UInt8], until: Int64) {
        self.key = key
        self.phone = phone
        self.until = until
    }
}
