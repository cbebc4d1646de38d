/// A question for the shard that owns a contact: which of its windows are open now?
public struct WindowQuery: Sendable, Equatable {
    public var app: [UInt8]
    /// The contact key, normalised as the input's (`RecordDecoder.appendContactKey`).
    public var contact: [UInt8]
    /// Only windows of this kind.
    public var kind: WindowKind?
    /// Only windows of this category (upper-cased; windows without one do not match).
    public var category: [UInt8]?
    /// The windows open at this time instead of at the clock C (`/v1/advice?at=`): open
    /// windows with `opened_at ≤ at < expires_at`.
    public var at: Int64?
    /// The phone linked to `contact` when it is a user id (SPEC section 12): in the answer.
    public var phone: [UInt8]?

    /// A query for `identity` as a user writes it (`+46 73 200 11 22` finds `46732001122`),
    /// keyed by `ContactLookup`.
    public init(app: String, identity: String, kind: WindowKind? = nil, category: String? = nil,
                links: ((_ app: [UInt8], _ id: [UInt8]) -> IdentityLinks.Link?)? = nil) {
        let lookup = ContactLookup.key(app: app, identity: identity, links: links)
        self.app = lookup.app
        self.contact = lookup.contact
        self.phone = lookup.phone
        self.kind = kind
        self.category = category.map { Array($0.uppercased().utf8) }
    }

    /// The routing hash of the contact: which shard owns it.
    public var contactHash: UInt64 {
        app.withUnsafeBufferPointer { a in contact.withUnsafeBufferPointer { RoutingHash.contact(app: a, contact: $0) } }
    }
}

/// The answer: the clock C it was answered at and the matching windows open at C.
public struct WindowAnswer: Sendable, Equatable {
    /// `Int64.min` before any record (event mode).
    public var clock: Int64
    public var windows: [SavedWindow]

    public init(clock: Int64, windows: [SavedWindow]) {
        self.clock = clock
        self.windows = windows
    }

    /// `{"app_id":…,"contact":…,"as_of":…,"open":…,"windows":[…]}`, `remaining_s` in whole
    /// seconds (floored) from `now`.
    public func encode(_ q: WindowQuery, now: Int64, into out: inout ByteBuffer) {
        out.append("{\"app_id\":")
        q.app.withUnsafeBytes { EventEncoder.appendString($0, &out) }
        out.append(",\"contact\":")
        q.contact.withUnsafeBytes { EventEncoder.appendString($0, &out) }
        if let phone = q.phone {
            out.append(",\"phone\":")
            phone.withUnsafeBytes { EventEncoder.appendString($0, &out) }
        }
        out.append(",\"as_of\":")
        if clock == .min { out.append("null") } else { EventEncoder.appendTime(clock, &out) }
        out.append(windows.isEmpty ? ",\"open\":false,\"windows\":[" : ",\"open\":true,\"windows\":[")
        for (i, w) in windows.enumerated() {
            out.append(i == 0 ? "{\"window\":\"" : ",{\"window\":\"")
            out.append(w.kind.jsonName)
            out.append("\"")
            if !w.contactID.isEmpty { out.append(",\"contact_id\":"); EventEncoder.appendString(w.contactID, &out) }
            if !w.category.isEmpty { out.append(",\"category\":"); EventEncoder.appendString(w.category, &out) }
            if !w.conversationID.isEmpty { out.append(",\"conversation_id\":"); EventEncoder.appendString(w.conversationID, &out) }
            out.append(",\"opened_at\":")
            EventEncoder.appendTime(w.opened, &out)
            out.append(",\"expires_at\":")
            EventEncoder.appendTime(w.expires, &out)
            out.append(",\"remaining_s\":")
            let left = w.expires - now
            out.appendDecimal(left >= 0 ? left / 1_000 : -((-left + 999) / 1_000))
            out.append("}")
        }
        out.append("]}")
    }
}

extension WindowEngine {
    /// The windows of the queried contact open at the clock C (`opened_at ≤ C < expires_at`),
    /// or at the query's `at`, narrowed by the query's kind and category, in firing order:
    /// kind, then CBP before PMP, then conversation id.
    public func answer(_ q: WindowQuery) -> WindowAnswer {
        let c = clock
        let t = q.at ?? c
        var found: [SavedWindow] = []
        let hash = q.contactHash
        let slot = q.app.withUnsafeBufferPointer { app in
            q.contact.withUnsafeBufferPointer { contact in
                contactIndex.find(hash) { s in
                    text.equals(contacts[Int(s)].contact, contact) && text.equals(apps[Int(contacts[Int(s)].app)], app)
                }
            }
        }
        guard let slot, c != .min else { return WindowAnswer(clock: c, windows: []) }
        func take(_ w: Window) {
            guard w.open, w.opened <= t, t < w.expires else { return }
            if let kind = q.kind, w.kind != kind { return }
            let category = text.string(self.category(w))
            if let wanted = q.category, !wanted.elementsEqual(category.utf8) { return }
            found.append(SavedWindow(kind: w.kind, pmp: w.pmp, open: true, warnDone: w.warnDone, opened: w.opened,
                                     expires: w.expires, last: last(w), app: String(decoding: q.app, as: UTF8.self),
                                     contact: String(decoding: q.contact, as: UTF8.self), contactID: contactIDs.string(w.contactID),
                                     category: category, conversationID: text.string(conversationID(w))))
        }
        if let s = serviceSlot(slot) { take(self[window: s]) }
        var s = contacts[Int(slot)].firstOther
        while s >= 0 {
            take(windows[Int(s)])
            s = nextOther(s)
        }
        found.sort { a, b in
            if a.kind != b.kind { return a.kind < b.kind }
            if a.pmp != b.pmp { return !a.pmp }
            return a.conversationID.utf8.lexicographicallyPrecedes(b.conversationID.utf8)
        }
        return WindowAnswer(clock: c, windows: found)
    }
}
