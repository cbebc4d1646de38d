/// Timers and the firing rule (SPEC section 4).
extension WindowEngine {
    /// Moves the clock to `x` (never backwards) and fires every timer due at or before it.
    public mutating func advance(to x: Int64) {
        if x > clock { clock = x }
        firePass()
    }

    /// One firing pass at the current clock: per window at most one event, then the pass's
    /// events in order of due time, kind, pricing model and conversation id.
    mutating func firePass() {
        let x = clock
        guard let top = heap.top, top.due <= x else { return }
        while let e = heap.top, e.due <= x {
            _ = heap.pop()
            guard windows[Int(e.slot)].seq == e.seq else { continue }  // stale
            windows[Int(e.slot)].heapDue = .max
            fire(e.slot, at: x)
        }
        if passEvents.count > 1 {
            passEvents.sort { a, b in
                if a.dueAt != b.dueAt { return a.dueAt < b.dueAt }
                if a.window != b.window { return a.window < b.window }
                if a.pmp != b.pmp { return !a.pmp }
                return a.conversationID.utf8.lexicographicallyPrecedes(b.conversationID.utf8)
            }
        }
        events.append(contentsOf: passEvents)
        passEvents.removeAll(keepingCapacity: true)
    }

    private mutating func fire(_ s: Int32, at x: Int64) {
        let c = windows[Int(s)].contact
        let w = windows[Int(s)]
        if w.open {
            if w.expires <= x {
                expire(s, inPass: true)
            } else {
                let leads = options.warnLeads
                var j = -1
                var k = Int(w.warnDone)
                while k < leads.count, w.expires - leads[k] <= x { j = k; k += 1 }
                if j >= 0 {
                    windows[Int(s)].warnDone = UInt8(j + 1)
                    emit(.expiring, s, due: w.expires - leads[j], lead: leads[j], inPass: true)
                }
                schedule(s)
                return
            }
        }
        if windows[Int(s)].seq == w.seq, !windows[Int(s)].open {
            // Remembered (possibly just now): forget once C reaches last + length.
            if forgetAt(s) <= x { release(s) } else { schedule(s) }
        }
        releaseContactIfEmpty(c)
    }

    /// Expires an open window now: `window_expired` due at its `expires_at`. A customer
    /// service window is released; the others stay remembered.
    mutating func expire(_ s: Int32, inPass: Bool) {
        emit(.expired, s, due: windows[Int(s)].expires, lead: 0, inPass: inPass)
        if windows[Int(s)].kind == .customerService {
            release(s)
            return
        }
        counters.open[Int(windows[Int(s)].kind.rawValue)] -= 1
        counters.remembered += 1
        windows[Int(s)].open = false
    }

    func forgetAt(_ s: Int32) -> Int64 {
        let w = windows[Int(s)]
        return max(w.expires, w.last) + options.length(of: w.kind)
    }

    func nextDue(_ s: Int32) -> Int64 {
        let w = windows[Int(s)]
        guard w.open else { return forgetAt(s) }
        let leads = options.warnLeads
        return Int(w.warnDone) < leads.count ? w.expires - leads[Int(w.warnDone)] : w.expires
    }

    /// Makes sure a heap entry exists at or before the window's next due time. A later
    /// existing entry is superseded; an earlier one is kept and re-evaluated when it fires.
    mutating func schedule(_ s: Int32) {
        let due = nextDue(s)
        guard due < windows[Int(s)].heapDue else { return }
        windows[Int(s)].seq &+= 1
        windows[Int(s)].heapDue = due
        heap.push(TimerEntry(due: due, slot: s, seq: windows[Int(s)].seq))
    }

    mutating func emit(_ kind: EventKind, _ s: Int32, due: Int64, lead: Int64, inPass: Bool) {
        let w = windows[Int(s)]
        let c = contacts[Int(w.contact)]
        counters.events[Int(kind.rawValue)] += 1
        let event = WindowEvent(
            event: kind, window: w.kind, pmp: w.pmp, app: c.app, contact: c.contact,
            contactID: w.contactID, category: w.category, conversationID: w.conversationID,
            openedAt: w.opened, expiresAt: w.expires, lead: lead, dueAt: due)
        if inPass { passEvents.append(event) } else { events.append(event) }
    }
}
