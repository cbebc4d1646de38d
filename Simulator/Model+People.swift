// The simulator's own reading of SPEC 12 (people known by a phone, a BSUID or both), written
// independently of the processor. Where SPEC 12 leaves a point open, this model reads it as
// follows (each reading keeps the feed deterministic and every line idempotent):
//
//  1. "C passes L + horizon" is C > L + horizon: a link is forgotten exactly when an item at
//     time L would be too_late. Forgetting is checked in step 4 after every record and again
//     when the clock moves at end of input, each time before the timers fire (so the events
//     of that pass carry no phone).
//  2. L is kept per id (phone and BSUID apart, per app) over every usable, not too_late item
//     that carried it, whether or not a link existed then; a link's L is the larger of its two
//     ids' values. Items that carry an id: messages of any type (system and group messages too:
//     a group message carries its participant's ids), statuses (a group status carries only
//     the group), calls of any event, and Sinch lines (phone or BSUID identity). A `contacts[]`
//     link counts as carrying both its ids at its date. Lines of other channels carry none.
//  3. A `contacts[]` entry with both ids is learned when the change's first item (a message,
//     a call or a status, in the order they are applied) is processed, just before that
//     item's own link, and only if that item is usable and not too_late.
//  4. Any usable item with both ids links them except a system message: a group message, a
//     status, and a call of any event (not only a user's connect) do.
//  5. Relinking: a new link (P, B) first drops B's old phone and P's old BSUID, then merges
//     the windows kept under the phone key P into B. Windows of a BSUID that loses its phone
//     stay with that BSUID; nothing moves between BSUIDs.
//  6. Merge: customer service — if B has one open, B keeps the later `expires_at`; when that
//     is P's, B's window takes it, emits `window_updated` (due at the linking item's time,
//     B's own `contact_id`) and its warnings re-arm for the new `expires_at` (SPEC 4); else
//     P's moves over with its warnings. Keyed windows (open or remembered) — dropped when B has
//     one (open or remembered) with the same conversation id, else moved, memory included.
//     PMP free entry point — P's open one is dropped when B has an open one; every other
//     PMP window of P (remembered ones, or the open one when B has none open) moves over.
//  7. The phone of an event is the phone linked to its contact at the moment it is emitted:
//     windows opened under B before the link carry the phone afterwards, and none after the
//     link is forgotten. A phone-keyed window (no BSUID known) never carries `phone`.
//  8. Keys: `group:` + the group id as written (the generator writes digits only); a BSUID
//     key is the BSUID as written; a phone key is normalised as in section 2.
import WindowCore

/// Links between phones and BSUIDs, per app, and when each id was last carried.
struct LinkTable {
    private var phoneOf: [String: String] = [:]  // app ␟ BSUID → phone
    private var bsuidOf: [String: String] = [:]  // app ␟ phone → BSUID
    private var lastSeen: [String: Int64] = [:]  // app ␟ p|b ␟ id → largest event time
    /// Pairs linked before (for the counts only: a link learned again after it was forgotten).
    private var everLinked: Set<String> = []
    private(set) var counts: [String: Int] = [:]

    private static func key(_ app: String, _ id: String) -> String { app + "\u{1F}" + id }

    /// The phone linked to a contact key, if it is a linked BSUID.
    func phone(app: String, contact: String) -> String? {
        phoneOf.isEmpty ? nil : phoneOf[Self.key(app, contact)]
    }

    /// The contact key of an item's ids: the BSUID, else the phone's BSUID, else the phone.
    func resolve(app: String, phone: String?, bsuid: String?) -> String? {
        if let bsuid { return bsuid }
        guard let phone else { return nil }
        return bsuidOf[Self.key(app, phone)] ?? phone
    }

    mutating func saw(app: String, phone: String?, bsuid: String?, at t: Int64) {
        if let phone { lastSeen[app + "\u{1F}p\u{1F}" + phone] = max(lastSeen[app + "\u{1F}p\u{1F}" + phone] ?? t, t) }
        if let bsuid { lastSeen[app + "\u{1F}b\u{1F}" + bsuid] = max(lastSeen[app + "\u{1F}b\u{1F}" + bsuid] ?? t, t) }
    }

    /// Learns a link; false when it is already known.
    mutating func link(app: String, _ l: SimRecord.Link) -> Bool {
        let b = Self.key(app, l.bsuid), p = Self.key(app, l.phone)
        if phoneOf[b] == l.phone { return false }
        if let old = phoneOf[b] { bsuidOf[Self.key(app, old)] = nil; counts["relinked (BSUID, new phone)", default: 0] += 1 }
        if let old = bsuidOf[p] { phoneOf[Self.key(app, old)] = nil; counts["relinked (phone, new BSUID)", default: 0] += 1 }
        phoneOf[b] = l.phone
        bsuidOf[p] = l.bsuid
        if !everLinked.insert(b + "\u{1F}" + l.phone).inserted { counts["links learned again", default: 0] += 1 }
        return true
    }

    /// Forgets every link whose ids were last carried more than `horizon` before the clock.
    mutating func forget(clock: Int64, horizon: Int64) {
        guard !phoneOf.isEmpty else { return }
        for (b, phone) in phoneOf {
            let app = String(b.prefix { $0 != "\u{1F}" })
            let bsuid = String(b.dropFirst(app.count + 1))
            let last = max(lastSeen[app + "\u{1F}p\u{1F}" + phone] ?? .min, lastSeen[app + "\u{1F}b\u{1F}" + bsuid] ?? .min)
            if clock > last + horizon {
                phoneOf[b] = nil
                bsuidOf[Self.key(app, phone)] = nil
                counts["links forgotten", default: 0] += 1
            }
        }
    }
}

extension Model {
    /// The contact key a usable, not too_late record is applied under, after learning the
    /// links it carries (emitting `contact_linked` and merging); nil for `missing_contact`.
    mutating func person(_ r: SimRecord) -> String? {
        guard let ids = r.ids, r.channel == "WHATSAPP" else { return r.number }
        var links: [SimRecord.Link] = []
        if let l = r.contactsLink { links.append(l) }
        if !r.isSystemMessage, let p = ids.phone, let b = ids.bsuid { links.append(SimRecord.Link(phone: p, bsuid: b)) }
        if let l = r.contactsLink, !links.dropFirst().contains(l) { count("contacts[] links not also on the item") }
        for l in links where people.link(app: r.app, l) {
            emitLinked(app: r.app, l, at: r.time)
            count("contact_linked")
            merge(app: r.app, l, at: r.time)
        }
        if let l = r.contactsLink { people.saw(app: r.app, phone: l.phone, bsuid: l.bsuid, at: r.time) }
        people.saw(app: r.app, phone: ids.phone, bsuid: ids.bsuid, at: r.time)
        if !r.writtenAsMeta, ids.bsuid != nil { count("Sinch lines with a BSUID identity") }
        if r.writtenAsMeta, ids.phone == nil, ids.bsuid != nil, ids.group == nil { count("Meta items with a BSUID and no phone") }
        if let group = ids.group {
            if case .receipt = r.kind { count("group statuses") } else { count("group messages") }
            return "group:" + group
        }
        switch r.call {
        case .userConnect?: count("user calls (contact messages)")
        case .other?: count("other call items")
        case nil: break
        }
        return people.resolve(app: r.app, phone: ids.phone, bsuid: ids.bsuid)
    }

    /// The windows kept under phone key P become BSUID B's (SPEC 12 "Merging"; reading 6).
    private mutating func merge(app: String, _ l: SimRecord.Link, at t: Int64) {
        let pk = app + "\u{1F}" + l.phone, bk = app + "\u{1F}" + l.bsuid
        if let pw = customerService.removeValue(forKey: pk) {
            if let bw = customerService[bk] {
                if pw.expires > bw.expires {
                    bw.expires = pw.expires
                    bw.warned = []
                    emit(.updated, bw, due: t, lead: 0)
                    count("merges: customer service, BSUID's extended")
                } else {
                    count("merges: customer service, phone's dropped")
                }
            } else {
                pw.contact = l.bsuid
                customerService[bk] = pw
                count("merges: customer service moved")
            }
        }
        for (k, w) in keyed where w.app == app && w.contact == l.phone {
            keyed[k] = nil
            let nk = bk + "\u{1F}" + w.conversationID
            if keyed[nk] == nil {
                w.contact = l.bsuid
                keyed[nk] = w
                count(w.open ? "merges: keyed window moved" : "merges: remembered keyed window moved")
            } else {
                count("merges: keyed window dropped (same id)")
            }
        }
        if let moving = pmpWindows.removeValue(forKey: pk) {
            let bHasOpen = (pmpWindows[bk] ?? []).contains { $0.open }
            for w in moving {
                if w.open && bHasOpen { count("merges: PMP free entry point dropped"); continue }
                w.contact = l.bsuid
                pmpWindows[bk, default: []].append(w)
                count("merges: PMP free entry point moved")
            }
        }
    }
}

extension Model {
    mutating func count(_ what: String) { counts[what, default: 0] += 1 }

    /// What the run exercised (`generate --stats`): links, merges, groups, calls.
    var stats: [String: Int] { counts.merging(people.counts) { $0 + $1 } }
}
