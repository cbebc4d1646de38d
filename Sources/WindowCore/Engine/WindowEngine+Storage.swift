/// Contact and window slots, and releasing them.
extension WindowEngine {
    /// The window at slot `s`: the window table's for `s >= 0`, else the customer service
    /// window of contact `~s`, seen as a `Window` (its `contact` is -1 when there is none).
    /// Read only: a customer service window's times are written through `setServiceExpires`
    /// and `setHeapDue`, its other fields through `setWarnDone` and `setContactID`.
    subscript(window s: Int32) -> Window {
        @inline(__always) get {
            s >= 0 ? windows[Int(s)] : serviceWindow(~s)
        }
    }

    /// The customer service window of contact `c` seen as a `Window` (its `contact` is -1
    /// when there is none).
    @inline(__always)
    func serviceWindow(_ c: Int32) -> Window {
        let v = services[Int(c)]
        return Window(contact: v.present ? c : -1, kind: .customerService, pmp: false, open: true, warnDone: v.warnDone,
                      contactID: v.contactID, opened: v.opened, expires: expires(v, contact: c), heapDue: heapDue(v, contact: c))
    }

    @inline(__always)
    private func expires(_ v: ServiceWindow, contact c: Int32) -> Int64 {
        v.expiresGap != ServiceWindow.far ? v.opened &+ Int64(v.expiresGap) : farTimes[Int(c)].expires
    }

    @inline(__always)
    private func heapDue(_ v: ServiceWindow, contact c: Int32) -> Int64 {
        if v.heapGap <= ServiceWindow.largestGap { return v.opened &+ Int64(v.heapGap) }
        return v.heapGap == ServiceWindow.noEntry ? .max : farTimes[Int(c)].heapDue
    }

    /// The expiry of contact `c`'s customer service window.
    @inline(__always)
    func serviceExpires(_ c: Int32) -> Int64 { expires(services[Int(c)], contact: c) }

    /// Sets the expiry of contact `c`'s customer service window (after its opening).
    @inline(__always)
    mutating func setServiceExpires(_ c: Int32, _ time: Int64) {
        services[Int(c)].expiresGap = gap(time, contact: c, heapDue: false)
    }

    /// The due time of window `s`'s live heap entry (`Int64.max` when it has none).
    @inline(__always)
    func heapDue(_ s: Int32) -> Int64 { s >= 0 ? windows[Int(s)].heapDue : heapDue(services[Int(~s)], contact: ~s) }

    @inline(__always)
    mutating func setHeapDue(_ s: Int32, _ time: Int64) {
        if s >= 0 {
            windows[Int(s)].heapDue = time
        } else {
            services[Int(~s)].heapGap = time == .max ? ServiceWindow.noEntry : gap(time, contact: ~s, heapDue: true)
        }
    }

    /// The gap of `time` above the opening of contact `c`'s customer service window, or
    /// `ServiceWindow.far` once `time` is kept in `farTimes` (as its heap due time or expiry).
    @inline(__always)
    private mutating func gap(_ time: Int64, contact c: Int32, heapDue: Bool) -> UInt32 {
        if let gap = ServiceWindow.gap(time, above: services[Int(c)].opened) { return gap }
        keepFar(time, contact: c, heapDue: heapDue)
        return ServiceWindow.far
    }

    /// Stores a far time, giving every contact its `farTimes` entry the first time.
    @inline(never)
    private mutating func keepFar(_ time: Int64, contact c: Int32, heapDue: Bool) {
        if farTimes.isEmpty {
            farTimes.reserveCapacity(services.capacity)  // a restore has reserved its contacts
            farTimes.append(contentsOf: repeatElement(FarTimes(), count: services.count))
        }
        if heapDue { farTimes[Int(c)].heapDue = time } else { farTimes[Int(c)].expires = time }
    }

    /// Sets one field of window `s` in place.
    @inline(__always)
    mutating func setWarnDone(_ s: Int32, _ value: UInt8) {
        if s >= 0 { windows[Int(s)].warnDone = value } else { services[Int(~s)].warnDone = value }
    }

    @inline(__always)
    mutating func setContactID(_ s: Int32, _ value: TextRef) {
        if s >= 0 { windows[Int(s)].contactID = value } else { services[Int(~s)].contactID = value }
    }

    /// The slot of contact `c`'s customer service window, or nil when it has none.
    @inline(__always)
    func serviceSlot(_ c: Int32) -> Int32? { services[Int(c)].present ? ~c : nil }

    mutating func contactSlot(_ input: WindowInput, _ arena: UnsafeBufferPointer<UInt8>) -> Int32 {
        contactSlot(hash: input.contactHash, app: slice(arena, input.app), contact: slice(arena, input.contact))
    }

    /// The contact entry of (app, contact), added when it is new.
    mutating func contactSlot(hash: UInt64, app: UnsafeBufferPointer<UInt8>, contact: UnsafeBufferPointer<UInt8>) -> Int32 {
        if let found = contactIndex.find(hash, { s in
            text.equals(contacts[Int(s)].contact, contact) && text.equals(apps[Int(contacts[Int(s)].app)], app)
        }) {
            return found
        }
        return addContact(hash: hash, app: UnsafeRawBufferPointer(app), contact: UnsafeRawBufferPointer(contact))
    }

    /// A new contact entry (its app id interned, so all its contacts share one copy).
    mutating func addContact(hash: UInt64, app: UnsafeRawBufferPointer, contact: UnsafeRawBufferPointer) -> Int32 {
        let appBytes = app.assumingMemoryBound(to: UInt8.self)
        var h = FNV1a()
        h.add(appBytes)
        let appHash = h.mixed
        let appSlot: UInt32
        if let found = appIndex.find(appHash, { text.equals(apps[Int($0)], appBytes) }) {
            appSlot = UInt32(found)
        } else {
            appSlot = UInt32(apps.count)
            apps.append(text.add(app))
            appIndex.insert(appHash, Int32(appSlot))
        }
        let entry = Contact(app: appSlot, contact: text.add(contact))
        let slot: Int32
        if let free = freeContacts.popLast() {
            slot = free
            contacts[Int(slot)] = entry
        } else {
            slot = Int32(contacts.count)
            contacts.append(entry)
            services.append(.none)
            if !farTimes.isEmpty { farTimes.append(FarTimes()) }
        }
        contactIndex.insert(hash, slot)
        return slot
    }

    /// Stores a conversation or free-entry-point window in a free slot or a new one.
    mutating func storeWindow(_ w: Window) -> Int32 {
        if let free = freeWindows.popLast() {
            windows[Int(free)] = w
            return free
        }
        windows.append(w)
        return Int32(windows.count - 1)
    }

    /// The routing hash of contact `c`, from its strings (`Contact` does not keep it).
    @inline(__always)  // called from mutating methods: else `self` (760 bytes) is copied for the call
    func contactHash(_ c: Int32) -> UInt64 {
        let entry = contacts[Int(c)]
        return RoutingHash.contact(app: text.bytes(apps[Int(entry.app)]).assumingMemoryBound(to: UInt8.self),
                                   contact: text.bytes(entry.contact).assumingMemoryBound(to: UInt8.self))
    }

    mutating func releaseContactIfEmpty(_ c: Int32) {
        guard !services[Int(c)].present, contacts[Int(c)].firstOther < 0 else { return }
        if !phones.isEmpty { phones[c] = nil }
        contactIndex.remove(contactHash(c), c)
        text.free(contacts[Int(c)].contact)
        contacts[Int(c)] = Contact(app: 0, contact: .empty)
        freeContacts.append(c)
    }

    /// A new conversation or free-entry-point window of contact `c`.
    mutating func newWindow(contact c: Int32, kind: WindowKind, pmp: Bool, opened t: Int64,
                            _ input: WindowInput, _ arena: UnsafeBufferPointer<UInt8>) -> Int32 {
        var w = Window(
            contact: c, kind: kind, pmp: pmp, open: true, warnDone: 0,
            contactID: contactIDs.add(slice(arena, input.contactID)),
            opened: t, expires: t + options.length(of: kind), heapDue: .max)
        w.keyed = addKeyedPart(last: t, category: text.add(slice(arena, input.category)),
                               conversationID: text.add(slice(arena, input.conversationID)))
        return storeWindow(w)
    }

    /// Gives contact `c` a customer service window (it has none); returns its slot.
    mutating func newServiceWindow(contact c: Int32, opened t: Int64, expires: Int64, warnDone: UInt8 = 0,
                                   contactID: UnsafeRawBufferPointer) -> Int32 {
        services[Int(c)] = ServiceWindow(opened: t, expiresGap: 0, heapGap: ServiceWindow.noEntry, contactID: contactIDs.add(contactID),
                                         warnDone: warnDone, present: true)
        setServiceExpires(c, expires)
        return ~c
    }

    /// Stores the keyed part of a new conversation or free-entry-point window.
    mutating func addKeyedPart(last: Int64, category: TextRef, conversationID: TextRef) -> Int32 {
        let part = KeyedPart(last: last, category: category, conversationID: conversationID)
        if let free = freeKeyedParts.popLast() {
            keyedParts[Int(free)] = part
            return free
        }
        keyedParts.append(part)
        return Int32(keyedParts.count - 1)
    }

    /// The latest receipt time of a window (a customer service window's is its opening).
    @inline(__always)
    func last(_ w: Window) -> Int64 { w.keyed < 0 ? w.opened : keyedParts[Int(w.keyed)].last }

    @inline(__always)
    func category(_ w: Window) -> TextRef { w.keyed < 0 ? .empty : keyedParts[Int(w.keyed)].category }

    @inline(__always)
    func conversationID(_ w: Window) -> TextRef { w.keyed < 0 ? .empty : keyedParts[Int(w.keyed)].conversationID }

    /// The window after keyed window `s` in its contact's list, or -1.
    @inline(__always)
    func nextOther(_ s: Int32) -> Int32 { keyedParts[Int(windows[Int(s)].keyed)].next }

    /// Adds keyed window `s` at the end of contact `c`'s list (order of creation), in
    /// constant time: the first window's `prev` is the last.
    mutating func appendOther(_ s: Int32, to c: Int32) {
        let part = Int(windows[Int(s)].keyed)
        keyedParts[part].next = -1
        let first = contacts[Int(c)].firstOther
        guard first >= 0 else {
            contacts[Int(c)].firstOther = s
            keyedParts[part].prev = s
            return
        }
        let firstPart = Int(windows[Int(first)].keyed)
        let last = keyedParts[firstPart].prev
        keyedParts[Int(windows[Int(last)].keyed)].next = s
        keyedParts[part].prev = last
        keyedParts[firstPart].prev = s
    }

    /// Takes keyed window `s` out of contact `c`'s list, in constant time.
    mutating func removeOther(_ s: Int32, from c: Int32) {
        let part = keyedParts[Int(windows[Int(s)].keyed)]
        let first = contacts[Int(c)].firstOther
        if s == first {
            contacts[Int(c)].firstOther = part.next
            if part.next >= 0 { keyedParts[Int(windows[Int(part.next)].keyed)].prev = part.prev }
            return
        }
        keyedParts[Int(windows[Int(part.prev)].keyed)].next = part.next
        // The window after it, or else the first (whose `prev` is the last), points back.
        let after = part.next >= 0 ? part.next : first
        keyedParts[Int(windows[Int(after)].keyed)].prev = part.prev
    }

    /// Forgets a window: out of its contact, out of the keyed index, timers invalidated.
    mutating func release(_ s: Int32) {
        if s < 0 {
            // A customer service window (always open): its heap entries are stale from now on.
            counters.open[Int(WindowKind.customerService.rawValue)] -= 1
            contactIDs.free(services[Int(~s)].contactID)
            services[Int(~s)] = .none
            return
        }
        let w = windows[Int(s)]
        if w.open {
            counters.open[Int(w.kind.rawValue)] -= 1
        } else {
            counters.remembered -= 1
        }
        removeOther(s, from: w.contact)
        let part = keyedParts[Int(w.keyed)]
        if !w.pmp {
            let id = text.bytes(part.conversationID).assumingMemoryBound(to: UInt8.self)
            keyedIndex.remove(RoutingHash.conversation(contactHash: contactHash(w.contact), id: id), s)
        }
        text.free(part.category)
        text.free(part.conversationID)
        keyedParts[Int(w.keyed)] = KeyedPart(last: 0, category: .empty, conversationID: .empty)
        freeKeyedParts.append(w.keyed)
        windows[Int(s)].keyed = -1
        // Its heap entries are stale from now on, and the slot is marked free.
        windows[Int(s)].heapDue = .max
        windows[Int(s)].contact = -1
        contactIDs.free(w.contactID)
        windows[Int(s)].contactID = .empty
        freeWindows.append(s)
    }
}

extension WindowEngine {
    /// Moves the live strings of each store that wants it into a fresh one (at a point where
    /// no bytes are borrowed).
    mutating func compactText() {
        if text.wantsCompaction {
            var contacts = self.contacts, apps = self.apps, parts = keyedParts
            self.contacts = []; self.apps = []; keyedParts = []
            text.compact { move in
                for i in apps.indices { apps[i] = move(apps[i]) }
                for i in contacts.indices { contacts[i].contact = move(contacts[i].contact) }
                for i in parts.indices {
                    parts[i].category = move(parts[i].category)
                    parts[i].conversationID = move(parts[i].conversationID)
                }
            }
            self.contacts = contacts; self.apps = apps; keyedParts = parts
        }
        if contactIDs.wantsCompaction {
            var windows = self.windows, services = self.services
            self.windows = []; self.services = []
            contactIDs.compact { move in
                for i in windows.indices { windows[i].contactID = move(windows[i].contactID) }
                for i in services.indices { services[i].contactID = move(services[i].contactID) }
            }
            self.windows = windows; self.services = services
        }
        textCompactions += 1
    }
}
