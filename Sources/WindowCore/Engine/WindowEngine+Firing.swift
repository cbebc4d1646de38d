/// Timers and the firing rule (SPEC section 4).
extension WindowEngine {
    /// Moves the clock to `x` (never backwards) and fires every timer due at or before it.
    public mutating func advance(to x: Int64) {
        if x > clock { clock = x }
        firePass()
    }

    /// One firing pass at the current clock: per window at most one event, then the pass's
    /// events in order of due time, kind, pricing model and conversation id.
    ///
    /// A large pass (a restart after a long stop fires millions of timers at once) is put
    /// out in pieces as it goes: an event is never due before the timer that fires it, and
    /// timers fire in due order, so every event due before the next timer's due time is
    /// final and can be written (and drained) at once.
    mutating func firePass() {
        let x = clock
        guard let top = heap.top, top.due <= x else { return }
        var flushAt = pass.pieceSize
        while let e = heap.top, e.due <= x {
            _ = heap.pop()
            guard heapDue(e.slot) == e.due else { continue }  // stale
            setHeapDue(e.slot, .max)
            fire(e.slot, at: x)
            // Only when some event is due before the next timer can anything go out (many
            // timers due at one instant would otherwise copy what is kept again and again).
            if pass.items.count >= flushAt, let next = heap.top?.due, next <= x, pass.minDue < next {
                pass.flush(before: next, into: &output, events: &events)
                drainOutput(atLeast: 1)
                // What could not go out yet waits for another piece's worth of events.
                flushAt = pass.items.count + pass.pieceSize
            }
        }
        pass.flush(before: .max, into: &output, events: &events)
        // Many passes between two flushes of the caller (a batch whose clock steps sweep
        // millions of saved timers) must not pile their output up either.
        drainOutput(atLeast: Self.drainBytes)
        if text.wantsCompaction || contactIDs.wantsCompaction { compactText() }
    }

    /// Output held back before a pass hands it to `drain`.
    static let drainBytes = 1 << 20

    /// Hands `output` to `drain` (if set) once it holds at least `bytes`.
    private mutating func drainOutput(atLeast bytes: Int) {
        guard output.count >= bytes, let drain else { return }
        drain(output.bytes)
        output.removeAll()
    }

    private mutating func fire(_ s: Int32, at x: Int64) {
        let c = self[window: s].contact
        let w = self[window: s]
        if w.open {
            if w.expires <= x {
                expire(s, inPass: true)
            } else {
                let leads = options.warnLeads
                var j = -1
                var k = Int(w.warnDone)
                while k < leads.count, w.expires - leads[k] <= x { j = k; k += 1 }
                if j >= 0 {
                    setWarnDone(s, UInt8(j + 1))
                    emit(.expiring, s, due: w.expires - leads[j], lead: leads[j], inPass: true)
                }
                schedule(s)
                return
            }
        }
        if self[window: s].contact >= 0, !self[window: s].open {
            // Remembered (possibly just now): forget once C reaches last + length.
            if forgetAt(s) <= x { release(s) } else { schedule(s) }
        }
        releaseContactIfEmpty(c)
    }

    /// Expires an open window now: `window_expired` due at its `expires_at`. A customer
    /// service window is released; the others stay remembered.
    mutating func expire(_ s: Int32, inPass: Bool) {
        emit(.expired, s, due: self[window: s].expires, lead: 0, inPass: inPass)
        if self[window: s].kind == .customerService {
            release(s)
            return
        }
        counters.open[Int(self[window: s].kind.rawValue)] -= 1
        counters.remembered += 1
        windows[Int(s)].open = false  // not a customer service window: those are released above
    }

    @inline(__always)
    func forgetAt(_ s: Int32) -> Int64 {
        let w = self[window: s]
        return max(w.expires, last(w)) + options.length(of: w.kind)
    }

    // Inlined: called from a mutating method, a non-inlined borrowing call copied the whole
    // engine value (552 bytes) on every schedule.
    @inline(__always)
    func nextDue(_ s: Int32) -> Int64 {
        let w = self[window: s]
        guard w.open else { return forgetAt(s) }
        let leads = options.warnLeads
        return Int(w.warnDone) < leads.count ? w.expires - leads[Int(w.warnDone)] : w.expires
    }

    /// Makes sure a heap entry exists at or before the window's next due time. A later
    /// existing entry is superseded; an earlier one is kept and re-evaluated when it fires.
    mutating func schedule(_ s: Int32) {
        let due = nextDue(s)
        guard due < heapDue(s) else { return }
        setHeapDue(s, due)
        let entry = TimerEntry(due: due, slot: s)
        if bulkLoading { heap.appendUnordered(entry) } else { heap.push(entry) }
    }

    mutating func emit(_ kind: EventKind, _ s: Int32, due: Int64, lead: Int64, inPass: Bool) {
        counters.events[Int(kind.rawValue)] += 1
        let w = self[window: s]
        let c = contacts[Int(w.contact)]
        var text = EventText(app: self.text.bytes(apps[Int(c.app)]), contact: self.text.bytes(c.contact),
                             contactID: contactIDs.bytes(w.contactID), category: self.text.bytes(category(w)),
                             conversationID: self.text.bytes(conversationID(w)),
                             plain: !self.text.holdsEscapes && !contactIDs.holdsEscapes)
        guard let linked = shownPhone(w.contact) else {
            emit(kind, w, text, due: due, lead: lead, inPass: inPass)
            return
        }
        linked.phone.withUnsafeBytes { phone in
            text.phone = phone
            text.plain = false
            emit(kind, w, text, due: due, lead: lead, inPass: inPass)
        }
    }

    private mutating func emit(_ kind: EventKind, _ w: Window, _ text: EventText, due: Int64, lead: Int64, inPass: Bool) {
        if inPass {
            pass.add(kind, w.kind, pmp: w.pmp, text, openedAt: w.opened, expiresAt: w.expires, lead: lead, dueAt: due)
        } else {
            EventText.encode(kind, w.kind, text, openedAt: w.opened, expiresAt: w.expires, lead: lead, dueAt: due, into: &output)
        }
        if recordsEvents {
            func string(_ b: UnsafeRawBufferPointer) -> String { String(decoding: b, as: UTF8.self) }
            let event = WindowEvent(
                event: kind, window: w.kind, pmp: w.pmp, app: string(text.app), contact: string(text.contact),
                contactID: string(text.contactID), category: string(text.category), conversationID: string(text.conversationID),
                openedAt: w.opened, expiresAt: w.expires, lead: lead, dueAt: due, phone: string(text.phone))
            if inPass { pass.events.append(event) } else { events.append(event) }
        }
    }
}

/// The events of one firing pass: encoded as they fire, then put in SPEC order (due time,
/// window kind, pricing model, conversation id) when the pass ends.
struct FiringPass: ~Copyable {
    struct Item {
        var due: Int64
        var window: WindowKind
        var pmp: Bool
        /// The conversation id's bytes in `keys`.
        var keyStart: Int32
        var keyCount: Int32
        /// The encoded line in `buffer`.
        var start: Int32
        var count: Int32
        /// Index in `events` (when values are recorded).
        var index: Int32
    }

    var items: [Item] = []
    var keys: [UInt8] = []
    var buffer = ByteBuffer(capacity: 1 << 12)
    var events: [WindowEvent] = []
    /// The smallest due time among `items` (`.max` when empty).
    private(set) var minDue: Int64 = .max
    /// Events a pass gathers before it puts out those already final (tests set it small,
    /// or to `.max` for a pass in one piece).
    var pieceSize = 1 << 16

    mutating func add(_ kind: EventKind, _ window: WindowKind, pmp: Bool, _ text: EventText,
                      openedAt: Int64, expiresAt: Int64, lead: Int64, dueAt: Int64) {
        let start = buffer.count
        EventText.encode(kind, window, text, openedAt: openedAt, expiresAt: expiresAt, lead: lead, dueAt: dueAt, into: &buffer)
        let keyStart = keys.count
        if text.conversationID.count > 0 { keys.append(contentsOf: text.conversationID) }
        items.append(Item(due: dueAt, window: window, pmp: pmp, keyStart: Int32(keyStart), keyCount: Int32(text.conversationID.count),
                          start: Int32(start), count: Int32(buffer.count - start), index: Int32(items.count)))
        minDue = min(minDue, dueAt)
    }

    /// Appends the lines (and values) of the events due before `bound`, in order, and keeps
    /// the others; `.max` empties the pass. No event still to come may be due before `bound`.
    mutating func flush(before bound: Int64, into output: inout ByteBuffer, events out: inout [WindowEvent]) {
        guard !items.isEmpty else { return }
        if items.count == 1, bound == .max {
            output.append(buffer.bytes)
            out.append(contentsOf: events)
        } else {
            keys.withUnsafeBufferPointer { k in
                items.sort { a, b in
                    if a.due != b.due { return a.due < b.due }
                    if a.window != b.window { return a.window < b.window }
                    if a.pmp != b.pmp { return !a.pmp }
                    let x = UnsafeBufferPointer(rebasing: k[Int(a.keyStart)..<Int(a.keyStart + a.keyCount)])
                    let y = UnsafeBufferPointer(rebasing: k[Int(b.keyStart)..<Int(b.keyStart + b.keyCount)])
                    if !x.elementsEqual(y) { return x.lexicographicallyPrecedes(y) }
                    return a.index < b.index
                }
            }
            let final = bound == .max ? items.count : items.firstIndex { $0.due >= bound } ?? items.count
            for item in items[..<final] {
                output.append(UnsafeRawBufferPointer(rebasing: buffer.bytes[Int(item.start)..<Int(item.start + item.count)]))
                if !events.isEmpty { out.append(events[Int(item.index)]) }
            }
            if final < items.count {
                keep(items[final...])
                return
            }
        }
        items.removeAll(keepingCapacity: true)
        keys.removeAll(keepingCapacity: true)
        events.removeAll(keepingCapacity: true)
        buffer.removeAll()
        minDue = .max
    }

    /// Makes `rest` (in order) the whole pass: their lines, keys and values copied to the front.
    private mutating func keep(_ rest: ArraySlice<Item>) {
        var pass = FiringPass()
        pass.pieceSize = pieceSize
        pass.minDue = rest.first?.due ?? .max  // sorted
        pass.items.reserveCapacity(items.capacity)
        for item in rest {
            let start = pass.buffer.count, keyStart = pass.keys.count
            pass.buffer.append(UnsafeRawBufferPointer(rebasing: buffer.bytes[Int(item.start)..<Int(item.start + item.count)]))
            pass.keys.append(contentsOf: keys[Int(item.keyStart)..<Int(item.keyStart + item.keyCount)])
            if !events.isEmpty { pass.events.append(events[Int(item.index)]) }
            pass.items.append(Item(due: item.due, window: item.window, pmp: item.pmp, keyStart: Int32(keyStart), keyCount: item.keyCount,
                                   start: Int32(start), count: item.count, index: Int32(pass.items.count)))
        }
        self = pass
    }
}
