/// The window rules of SPEC section 3 and the firing rule of section 4, for the contacts of
/// one shard. Pure and synchronous: time comes in as the clock C, events go out as NDJSON
/// bytes in `output` (and as values in `events` when `recordsEvents` is set).
///
/// Use: for each line in order, `advance(to:)` with the clock after the previous line,
/// `apply(_:in:)` for a record of this shard, then `advance(to:)` with the clock after it.
public struct WindowEngine: ~Copyable {
    public let options: EngineOptions
    /// The clock C this shard has fired up to; `Int64.min` before any.
    public internal(set) var clock: Int64 = .min
    /// The feed lines of the events emitted so far, in order; the caller drains it.
    public var output = ByteBuffer()
    /// Also keep every event as a value in `events` (tests and tools; off on the hot path).
    public var recordsEvents = false
    /// Events emitted so far as values, when `recordsEvents` is set; the caller drains them.
    public var events: [WindowEvent] = []
    public internal(set) var counters = EngineCounters()

    var contacts: [Contact] = []
    /// The customer service window of each contact (same index as `contacts`).
    var services: [ServiceWindow] = []
    /// Customer service window times too far from their opening for `ServiceWindow`'s gaps,
    /// by contact: empty until the first such time, then as long as `services`.
    var farTimes: [FarTimes] = []
    var freeContacts: [Int32] = []
    var contactIndex = SlotIndex()
    /// Conversation and free-entry-point windows (slots >= 0; see `subscript(window:)`).
    var windows: [Window] = []
    var freeWindows: [Int32] = []
    /// The parts only conversation and free-entry-point windows have (`Window.keyed`).
    var keyedParts: [KeyedPart] = []
    var freeKeyedParts: [Int32] = []
    var keyedIndex = SlotIndex()
    var heap = TimerHeap()
    /// Every string of the contacts and windows but their contact ids.
    var text = TextStore()
    /// The windows' contact ids, ULIDs packed (`Window.contactID`, `ServiceWindow.contactID`).
    var contactIDs = TextStore(packsULIDs: true)
    /// Interned app ids (`Contact.app` indexes `apps`), found by hash in `appIndex`.
    var apps: [TextRef] = []
    var appIndex = SlotIndex()
    /// Restoring: timers are appended unordered and heapified at the end.
    var bulkLoading = false
    /// The phones linked to contacts that are user ids, by contact slot (SPEC section 12;
    /// empty for input without user ids).
    var phones: [Int32: LinkedPhone] = [:]
    /// How often `text` was compacted (tests).
    var textCompactions = 0
    /// The events of the firing pass under way, encoded as they fire, sorted at its end.
    var pass = FiringPass()
    /// Takes `output` when a firing pass leaves much of it, and piece by piece in the middle
    /// of a large pass (set by a shard to its sink); without it, everything waits in `output`
    /// for the caller.
    public var drain: ((UnsafeRawBufferPointer) -> Void)?

    public init(options: EngineOptions) {
        self.options = options
    }

    /// Number of contacts with at least one open or remembered window.
    public var contactCount: Int { contactIndex.count }

    /// Earliest pending timer (possibly stale, never late): when a live clock should next fire.
    public var nextDue: Int64? { heap.top?.due }

    // MARK: records

    /// Applies one record against the current clock (SPEC step 3).
    public mutating func apply(_ input: WindowInput, in arena: UnsafeBufferPointer<UInt8>) {
        apply(input, in: arena, person: nil)
    }

    /// Applies one record to contact `c`, the key its ids resolved to.
    mutating func apply(_ input: WindowInput, _ arena: UnsafeBufferPointer<UInt8>, contact c: Int32) {
        switch input.operation {
        case .contactMessage: contactMessage(input, arena, contact: c)
        case .keyedReceipt: keyedReceipt(input, arena, contact: c)
        case .pmpFreeEntry: pmpFreeEntry(input, arena, contact: c)
        }
        releaseContactIfEmpty(c)
        if text.wantsCompaction || contactIDs.wantsCompaction { compactText() }
    }

    /// Touches the index entries, contact entries and key bytes that `apply` will read for
    /// `inputs`. The loads are independent of each other, so their cache misses overlap
    /// instead of stalling one record at a time; call it for the next few records before
    /// applying them. Changes nothing.
    public func warm(_ inputs: UnsafeBufferPointer<WindowInput>) -> UInt64 {
        var sink: UInt64 = 0
        for input in inputs {
            let s = contactIndex.slotAtHome(input.contactHash)
            if s >= 0 {
                let c = contacts[Int(s)]
                sink &+= UInt64(c.app)
                let key = text.bytes(c.contact)
                if key.count > 0 { sink &+= UInt64(key.load(as: UInt8.self)) }
            }
            if input.operation == .keyedReceipt {
                let w = keyedIndex.slotAtHome(input.keyHash)
                if w >= 0 {
                    let id = text.bytes(conversationID(windows[Int(w)]))
                    if id.count > 0 { sink &+= UInt64(id.load(as: UInt8.self)) }
                }
            }
        }
        return sink
    }

    private mutating func contactMessage(_ input: WindowInput, _ arena: UnsafeBufferPointer<UInt8>, contact c: Int32) {
        let t = input.time
        if let s = serviceSlot(c) {
            let oldExpiry = serviceExpires(c)
            if t < oldExpiry {
                let newExpiry = max(oldExpiry, t + options.csw)
                guard newExpiry != oldExpiry else { return }
                setServiceExpires(c, newExpiry)
                services[Int(c)].warnDone = 0
                replaceContactID(s, input, arena)
                emit(.updated, s, due: t, lead: 0, inPass: false)
                schedule(s)
                return
            }
            emit(.expired, s, due: oldExpiry, lead: 0, inPass: false)
            release(s)
        }
        let expires = t + options.csw
        if expires <= clock {
            counters.late += 1
            return
        }
        let s = newServiceWindow(contact: c, opened: t, expires: expires, contactID: UnsafeRawBufferPointer(slice(arena, input.contactID)))
        counters.open[Int(WindowKind.customerService.rawValue)] += 1
        emit(.opened, s, due: t, lead: 0, inPass: false)
        schedule(s)
    }

    private mutating func keyedReceipt(_ input: WindowInput, _ arena: UnsafeBufferPointer<UInt8>, contact c: Int32) {
        let t = input.time
        let idBytes = slice(arena, input.conversationID)
        let keyHash = input.keyHash
        let found = keyedIndex.find(keyHash) { s in
            let w = windows[Int(s)]
            return w.contact == c && text.equals(conversationID(w), idBytes)
        }
        if let slot = found {
            let w = windows[Int(slot)]
            if w.open, t < w.opened {
                windows[Int(slot)].opened = t
                windows[Int(slot)].expires = t + options.length(of: w.kind)
                windows[Int(slot)].warnDone = 0
                replaceContactID(slot, input, arena)
                emit(.updated, slot, due: t, lead: 0, inPass: false)
                if windows[Int(slot)].expires <= clock {
                    expire(slot, inPass: false)
                }
            }
            let part = Int(windows[Int(slot)].keyed)
            keyedParts[part].last = max(keyedParts[part].last, t)
            schedule(slot)
            return
        }
        let kind: WindowKind = input.freeEntryPoint ? .freeEntryPoint : .conversation
        let s = newWindow(contact: c, kind: kind, pmp: false, opened: t, input, arena)
        keyedIndex.insert(keyHash, s)
        appendOther(s, to: c)
        openOrRemember(s)
    }

    private mutating func pmpFreeEntry(_ input: WindowInput, _ arena: UnsafeBufferPointer<UInt8>, contact c: Int32) {
        let t = input.time
        var s = contacts[Int(c)].firstOther
        while s >= 0 {
            let w = windows[Int(s)]
            if w.pmp, w.open, t >= w.expires {
                expire(s, inPass: false)  // lazy expiry; it stays remembered
                schedule(s)
            }
            s = nextOther(s)
        }
        var afterAll = true
        s = contacts[Int(c)].firstOther
        while s >= 0 {
            let w = windows[Int(s)]
            s = nextOther(s)
            guard w.kind == .freeEntryPoint else { continue }
            if w.opened <= t, t < w.expires { return }  // belongs to it
            if t < w.expires { afterAll = false }
        }
        guard afterAll else {
            counters.late += 1  // a straggler before a window and inside none
            return
        }
        let fresh = newWindow(contact: c, kind: .freeEntryPoint, pmp: true, opened: t, input, arena)
        appendOther(fresh, to: c)
        openOrRemember(fresh)
    }

    /// A new keyed or PMP window: opened, or remembered as expired when already late.
    private mutating func openOrRemember(_ s: Int32) {
        if windows[Int(s)].expires <= clock {
            counters.late += 1
            windows[Int(s)].open = false
            counters.remembered += 1
        } else {
            counters.open[Int(windows[Int(s)].kind.rawValue)] += 1
            emit(.opened, s, due: windows[Int(s)].opened, lead: 0, inPass: false)
        }
        schedule(s)
    }

    private mutating func replaceContactID(_ slot: Int32, _ input: WindowInput, _ arena: UnsafeBufferPointer<UInt8>) {
        guard !input.contactID.isEmpty else { return }
        let bytes = slice(arena, input.contactID)
        if !contactIDs.equals(self[window: slot].contactID, bytes) {
            contactIDs.free(self[window: slot].contactID)
            setContactID(slot, contactIDs.add(bytes))
        }
    }

    @inline(__always)
    func slice(_ arena: UnsafeBufferPointer<UInt8>, _ r: ByteRange) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: arena[Int(r.start)..<Int(r.start + r.count)])
    }
}
