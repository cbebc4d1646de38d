#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Contact and window slots, and releasing them.
extension WindowEngine {
    /// Byte equality of a stored string and a range of the input (memcmp on contiguous UTF-8).
    @inline(__always)
    static func same(_ s: String, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        s.utf8.withContiguousStorageIfAvailable { u in
            u.count == bytes.count && (u.count == 0 || memcmp(u.baseAddress!, bytes.baseAddress!, u.count) == 0)
        } ?? s.utf8.elementsEqual(bytes)
    }

    mutating func contactSlot(_ input: WindowInput, _ arena: UnsafeBufferPointer<UInt8>) -> Int32 {
        let app = slice(arena, input.app)
        let contact = slice(arena, input.contact)
        if let found = contactIndex.find(input.contactHash, { s in
            Self.same(contacts[Int(s)].contact, contact) && Self.same(contacts[Int(s)].app, app)
        }) {
            return found
        }
        return addContact(hash: input.contactHash, app: String(decoding: app, as: UTF8.self),
                          contact: String(decoding: contact, as: UTF8.self))
    }

    /// A new contact entry (its app id interned, so all its contacts share one string).
    mutating func addContact(hash: UInt64, app: String, contact: String) -> Int32 {
        let interned: String
        if let a = appNames[app] {
            interned = a
        } else {
            appNames[app] = app
            interned = app
        }
        let entry = Contact(hash: hash, app: interned, contact: contact)
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
        contacts[Int(c)] = Contact(hash: 0, app: "", contact: "")
        freeContacts.append(c)
    }

    mutating func newWindow(contact c: Int32, kind: WindowKind, pmp: Bool, opened t: Int64,
                            _ input: WindowInput, _ arena: UnsafeBufferPointer<UInt8>) -> Int32 {
        let w = Window(
            contact: c, kind: kind, pmp: pmp, open: true, warnDone: 0, seq: 0,
            opened: t, expires: t + options.length(of: kind), last: t, heapDue: .max, keyHash: 0,
            contactID: String(decoding: slice(arena, input.contactID), as: UTF8.self),
            category: kind == .customerService ? "" : String(decoding: slice(arena, input.category), as: UTF8.self),
            conversationID: kind == .customerService ? "" : String(decoding: slice(arena, input.conversationID), as: UTF8.self))
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
        windows[Int(s)].contactID = ""
        windows[Int(s)].category = ""
        windows[Int(s)].conversationID = ""
        freeWindows.append(s)
    }
}
