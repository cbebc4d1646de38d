/// Contact and window slots, and releasing them.
extension WindowEngine {
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
        let entry = Contact(hash: hash, app: appSlot, contact: text.add(contact))
        let slot: Int32
        if let free = freeContacts.popLast() {
            slot = free
            contacts[Int(slot)] = entry
        } else {
            slot = Int32(contacts.count)
            contacts.append(entry)
        }
        contactIndex.insert(hash, slot)
        return slot
    }

    /// Stores a window in a free slot (keeping that slot's timer sequence) or a new one.
    mutating func storeWindow(_ w: Window) -> Int32 {
        if let free = freeWindows.popLast() {
            let seq = windows[Int(free)].seq
            windows[Int(free)] = w
            windows[Int(free)].seq = seq
            return free
        }
        windows.append(w)
        return Int32(windows.count - 1)
    }

    mutating func releaseContactIfEmpty(_ c: Int32) {
        guard contacts[Int(c)].isEmpty else { return }
        contactIndex.remove(contacts[Int(c)].hash, c)
        text.free(contacts[Int(c)].contact)
        contacts[Int(c)] = Contact(hash: 0, app: 0, contact: .empty)
        freeContacts.append(c)
    }

    mutating func newWindow(contact c: Int32, kind: WindowKind, pmp: Bool, opened t: Int64,
                            _ input: WindowInput, _ arena: UnsafeBufferPointer<UInt8>) -> Int32 {
        let w = Window(
            contact: c, kind: kind, pmp: pmp, open: true, warnDone: 0, seq: 0,
            opened: t, expires: t + options.length(of: kind), last: t, heapDue: .max, keyHash: 0,
            contactID: text.add(slice(arena, input.contactID)),
            category: kind == .customerService ? .empty : text.add(slice(arena, input.category)),
            conversationID: kind == .customerService ? .empty : text.add(slice(arena, input.conversationID)))
        return storeWindow(w)
    }

    /// Forgets a window: out of its contact, out of the keyed index, timers invalidated.
    mutating func release(_ s: Int32) {
        let w = windows[Int(s)]
        if w.open {
            counters.open[Int(w.kind.rawValue)] -= 1
        } else {
            counters.remembered -= 1
        }
        if w.kind == .customerService {
            contacts[Int(w.contact)].customerService = -1
        } else {
            if let i = contacts[Int(w.contact)].others.firstIndex(of: s) {
                contacts[Int(w.contact)].others.remove(at: i)
            }
            if !w.pmp { keyedIndex.remove(w.keyHash, s) }
        }
        windows[Int(s)].seq &+= 1
        windows[Int(s)].heapDue = .max
        text.free(w.contactID)
        text.free(w.category)
        text.free(w.conversationID)
        windows[Int(s)].contactID = .empty
        windows[Int(s)].category = .empty
        windows[Int(s)].conversationID = .empty
        freeWindows.append(s)
    }
}

extension WindowEngine {
    /// Moves the live strings into a fresh store (at a point where no bytes are borrowed).
    mutating func compactText() {
        var contacts = self.contacts, windows = self.windows, apps = self.apps
        self.contacts = []; self.windows = []; self.apps = []
        text.compact { move in
            for i in apps.indices { apps[i] = move(apps[i]) }
            for i in contacts.indices { contacts[i].contact = move(contacts[i].contact) }
            for i in windows.indices {
                windows[i].contactID = move(windows[i].contactID)
                windows[i].category = move(windows[i].category)
                windows[i].conversationID = move(windows[i].conversationID)
            }
        }
        self.contacts = contacts; self.windows = windows; self.apps = apps
        textCompactions += 1
    }
}
