import WindowCore  // time formatting and the event value/encoder only; never the window rules

/// The simulator's own reading of SPEC sections 3 and 4, written independently of the
/// processor's `WindowEngine`: plain dictionaries, a full scan of every window per firing
/// pass, warnings as sets of leads. Slow and obvious on purpose, so a disagreement points at
/// a bug in one of the two. The people of SPEC 12 (links between phones and BSUIDs, merges,
/// groups, calls) are in `Model+People.swift`, with the readings chosen where SPEC 12 is silent.
struct Model {
    struct Options {
        var csw: Int64 = 86_400_000
        var conversation: Int64 = 86_400_000
        var fep: Int64 = 259_200_000
        var pmpFrom: Int64 = Timestamp.parse("2025-07-01T00:00:00Z")!
        var leads: [Int64] = [3_600_000]
        var lateness: Int64 = 0
        var horizon: Int64 = 30 * 86_400_000
        var until: Int64?
    }

    final class Win {
        let kind: WindowKind
        let pmp: Bool
        let app: String
        var contact: String
        var contactID: String
        let category: String, conversationID: String
        var opened: Int64, expires: Int64, last: Int64
        var open = true
        var warned: Set<Int64> = []

        init(kind: WindowKind, pmp: Bool, app: String, contact: String, contactID: String, category: String,
             conversationID: String, opened: Int64, length: Int64) {
            self.kind = kind; self.pmp = pmp; self.app = app; self.contact = contact
            self.contactID = contactID; self.category = category; self.conversationID = conversationID
            self.opened = opened; expires = opened + length; last = opened
        }
    }

    let options: Options
    private(set) var events: [SimEvent] = []
    // Internal, not private: `Model+People.swift` links and merges them.
    var clock: Int64?
    private var newest: Int64?
    var customerService: [String: Win] = [:]
    var keyed: [String: Win] = [:]
    var pmpWindows: [String: [Win]] = [:]
    var people = LinkTable()
    var counts: [String: Int] = [:]
    private(set) var late = 0

    init(options: Options) { self.options = options }

    func length(_ w: Win) -> Int64 {
        switch w.kind {
        case .customerService: options.csw
        case .conversation: options.conversation
        case .freeEntryPoint: options.fep
        }
    }

    mutating func run(_ records: [SimRecord]) -> [SimEvent] {
        for r in records { line(r) }
        if let target = options.until ?? newest {
            clock = max(clock ?? target, target)
            people.forget(clock: clock!, horizon: options.horizon)
            pass()
        }
        return events
    }

    private mutating func line(_ r: SimRecord) {
        if r.malformed != nil { return }
        if case .other = r.kind { return }
        if let c = clock, r.time < c - options.horizon { return }  // too_late
        guard let contact = person(r) else { return }  // missing_contact
        apply(r, contact)
        newest = max(newest ?? r.time, r.time)
        clock = max(clock ?? (r.time - options.lateness), r.time - options.lateness)
        people.forget(clock: clock!, horizon: options.horizon)  // step 4, before the timers fire
        pass()
    }

    private mutating func apply(_ r: SimRecord, _ contact: String) {
        guard r.channel == "WHATSAPP" else { return }
        let key = r.app + "\u{1F}" + contact
        switch r.kind {
        case .inbound(let injected):
            if !injected { contactMessage(r, key, contact) }
        case .receipt(let status):
            guard status == "DELIVERED" || status == "READ" else { return }
            let p = r.badMetadata ? nil : r.pricing
            let category = p?.category?.uppercased() ?? ""
            let type = p?.type?.uppercased() ?? ""
            let fep = type == "FREE_ENTRY_POINT" || category == "FREE_ENTRY_POINT" || category == "REFERRAL_CONVERSION"
            let written = p?.model?.uppercased()
            let pmp = written == "PMP" || (written != "CBP" && r.time >= options.pmpFrom)
            if pmp {
                if fep { pmpEntry(r, key, contact, category: category, id: p?.conversationID ?? "") }
            } else if let id = p?.conversationID, !id.isEmpty {
                conversationReceipt(r, key, contact, id: id, category: category, fep: fep)
            }
        case .other:
            return
        }
    }

    private func isLate(_ expires: Int64) -> Bool { clock.map { expires <= $0 } ?? false }

    private mutating func contactMessage(_ r: SimRecord, _ key: String, _ contact: String) {
        if let w = customerService[key], r.time >= w.expires {
            emit(.expired, w, due: w.expires, lead: 0)
            customerService[key] = nil
        }
        if let w = customerService[key] {
            let e = max(w.expires, r.time + options.csw)
            if e != w.expires {
                w.expires = e
                w.warned = []
                if !r.contactID.isEmpty { w.contactID = r.contactID }
                emit(.updated, w, due: r.time, lead: 0)
            }
            return
        }
        let w = Win(kind: .customerService, pmp: false, app: r.app, contact: contact, contactID: r.contactID,
                    category: "", conversationID: "", opened: r.time, length: options.csw)
        if isLate(w.expires) { late += 1; return }
        customerService[key] = w
        emit(.opened, w, due: r.time, lead: 0)
    }

    private mutating func conversationReceipt(_ r: SimRecord, _ key: String, _ contact: String, id: String, category: String, fep: Bool) {
        let k = key + "\u{1F}" + id
        if let w = keyed[k] {
            if w.open, r.time < w.opened {
                w.opened = r.time
                w.expires = r.time + length(w)
                w.warned = []
                if !r.contactID.isEmpty { w.contactID = r.contactID }
                emit(.updated, w, due: r.time, lead: 0)
                if isLate(w.expires) {
                    emit(.expired, w, due: w.expires, lead: 0)
                    w.open = false
                }
            }
            w.last = max(w.last, r.time)
            return
        }
        let w = Win(kind: fep ? .freeEntryPoint : .conversation, pmp: false, app: r.app, contact: contact,
                    contactID: r.contactID, category: category, conversationID: id, opened: r.time,
                    length: fep ? options.fep : options.conversation)
        keyed[k] = w
        if isLate(w.expires) {
            late += 1
            w.open = false
        } else {
            emit(.opened, w, due: r.time, lead: 0)
        }
    }

    private mutating func pmpEntry(_ r: SimRecord, _ key: String, _ contact: String, category: String, id: String) {
        let own = pmpWindows[key] ?? []
        for w in own where w.open && r.time >= w.expires {
            emit(.expired, w, due: w.expires, lead: 0)
            w.open = false
        }
        let all = own + keyed.values.filter { $0.kind == .freeEntryPoint && $0.app == r.app && $0.contact == contact }
        if all.contains(where: { $0.opened <= r.time && r.time < $0.expires }) { return }
        guard all.allSatisfy({ r.time >= $0.expires }) else { late += 1; return }
        let w = Win(kind: .freeEntryPoint, pmp: true, app: r.app, contact: contact, contactID: r.contactID,
                    category: category, conversationID: id, opened: r.time, length: options.fep)
        pmpWindows[key, default: []].append(w)
        if isLate(w.expires) {
            late += 1
            w.open = false
        } else {
            emit(.opened, w, due: r.time, lead: 0)
        }
    }

    /// One firing pass at the clock: every window at most one event, then sorted per contact
    /// by due time, kind, model, conversation id.
    private mutating func pass() {
        guard let x = clock else { return }
        var fired: [WindowEvent] = []
        func fire(_ w: Win) -> Bool {  // returns false when the window is forgotten
            if w.open {
                if w.expires <= x {
                    fired.append(event(.expired, w, due: w.expires, lead: 0))
                    w.open = false
                    if w.kind == .customerService { return false }
                } else {
                    let due = options.leads.filter { w.expires - $0 <= x && !w.warned.contains($0) }
                    if let lead = due.min() {
                        fired.append(event(.expiring, w, due: w.expires - lead, lead: lead))
                        w.warned.formUnion(due)
                    }
                    return true
                }
            }
            return max(w.expires, w.last) + length(w) > x
        }
        customerService = customerService.filter { fire($0.value) }
        keyed = keyed.filter { fire($0.value) }
        pmpWindows = pmpWindows.mapValues { $0.filter(fire) }.filter { !$0.value.isEmpty }
        fired.sort { a, b in
            if a.app != b.app { return a.app < b.app }
            if a.contact != b.contact { return a.contact < b.contact }
            if a.dueAt != b.dueAt { return a.dueAt < b.dueAt }
            if a.window != b.window { return a.window.rawValue < b.window.rawValue }
            if a.pmp != b.pmp { return !a.pmp }
            return Array(a.conversationID.utf8).lexicographicallyPrecedes(Array(b.conversationID.utf8))
        }
        events += fired.map { .window($0, phone: people.phone(app: $0.app, contact: $0.contact)) }
    }

    private func event(_ kind: EventKind, _ w: Win, due: Int64, lead: Int64) -> WindowEvent {
        WindowEvent(event: kind, window: w.kind, pmp: w.pmp, app: w.app, contact: w.contact, contactID: w.contactID,
                    category: w.category, conversationID: w.conversationID, openedAt: w.opened, expiresAt: w.expires,
                    lead: lead, dueAt: due)
    }

    mutating func emitLinked(app: String, _ l: SimRecord.Link, at t: Int64) {
        events.append(.linked(app: app, contact: l.bsuid, phone: l.phone, dueAt: t))
    }

    mutating func emit(_ kind: EventKind, _ w: Win, due: Int64, lead: Int64) {
        events.append(.window(event(kind, w, due: due, lead: lead), phone: people.phone(app: w.app, contact: w.contact)))
    }
}
