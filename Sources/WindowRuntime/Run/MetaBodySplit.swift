import WindowCore

/// How `windowkeeper key` writes a Meta webhook body whose items belong to several people
/// (SPEC section 12, "Partition key"): one line per person, each the same envelope holding
/// only that person's items, in their order. Every other member is copied as written.
///
/// Parts that belong to nobody (an item without a contact key or with a diagnostic, a change
/// of another field, a part that is not an object) travel with the first person's line, so
/// nothing is lost and a diagnostic is still given where that line goes. A `contacts[]`
/// entry goes with the people whose phone or BSUID it names (an entry naming nobody's goes
/// with the first person's line).
struct MetaBodySplit {
    private struct Place: Hashable {
        var entry: Int32, change: Int32, list: UInt8, index: Int32
    }

    /// The first record of each person (their key), in order of first appearance.
    private(set) var people: [DecodedRecord] = []
    private var owner: [Place: Int] = [:]
    /// The phones and BSUIDs each person's items carry, and all of them.
    private var ids: [Set<[UInt8]>] = []
    private var allIDs: Set<[UInt8]> = []

    /// Sorts a body's items by person: nil when they name fewer than two people.
    init?(_ items: ArraySlice<WebhookItem>, _ arena: UnsafeBufferPointer<UInt8>) {
        func bytes(_ r: ByteRange) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(rebasing: arena[Int(r.start)..<Int(r.start + r.count)])
        }
        for item in items {
            guard case .record = item.outcome, !item.isLink, item.record.whatsapp, item.record.contact.count > 0,
                  let list = Self.list(item.place) else { continue }
            let r = item.record
            let p = people.firstIndex {
                $0.contactHash == r.contactHash && bytes($0.app).elementsEqual(bytes(r.app))
                    && bytes($0.contact).elementsEqual(bytes(r.contact))
            } ?? {
                people.append(r)
                ids.append([])
                return people.count - 1
            }()
            owner[Place(entry: item.entry, change: item.change, list: list, index: item.index)] = p
            for id in [r.phone, r.userID] where !id.isEmpty {
                ids[p].insert(Array(bytes(id)))
                allIDs.insert(Array(bytes(id)))
            }
        }
        if people.count < 2 { return nil }
    }

    private static func list(_ place: WebhookItem.Place) -> UInt8? {
        switch place {
        case .message: 0
        case .status: 1
        case .call: 2
        default: nil
        }
    }

    /// Appends person `p`'s line (without its line feed) to `out`.
    func write(_ p: Int, _ line: UnsafeBufferPointer<UInt8>, _ out: inout [UInt8]) {
        var s = JSONScanner(line)
        var done = false
        var members = Members()
        let ok = s.scanObject { s, key in
            let start = key.start - 1
            guard !done, s.equals(key, "entry"), s.peek() == 0x5B else { return members.copy(&s, line, from: start) }
            done = true
            var list: [UInt8] = []
            let valueStart = s.pos
            guard entries(p, &s, line, &list) else { return false }
            members.add(line, start, valueStart, list)
            return true
        }
        precondition(ok, "the line was validated before")
        out.append(contentsOf: members.object)
    }

    /// The `entry` array, filtered for person `p`.
    private func entries(_ p: Int, _ s: inout JSONScanner, _ line: UnsafeBufferPointer<UInt8>, _ out: inout [UInt8]) -> Bool {
        var elements = Elements()
        let ok = s.scanArray { s, e in
            let start = s.pos
            guard s.peek() == 0x7B else {
                guard s.skipValue() else { return false }
                if p == 0 { elements.add(line, start, s.pos) }
                return true
            }
            var done = false
            var kept = false, owned = false
            var members = Members()
            let ok = s.scanObject { s, key in
                let start = key.start - 1
                guard !done, s.equals(key, "changes"), s.peek() == 0x5B else { return members.copy(&s, line, from: start) }
                done = true
                var list = Elements()
                let valueStart = s.pos
                let ok = s.scanArray { s, c in
                    let start = s.pos
                    guard let (bytes, owners) = change(p, &s, line, Int32(clamping: e), Int32(clamping: c)) else { return false }
                    owned = owned || !owners.isEmpty
                    if owners.contains(p) {
                        kept = true
                        if let bytes { list.add(bytes) } else { list.add(line, start, s.pos) }
                    }
                    return true
                }
                guard ok else { return false }
                members.add(line, start, valueStart, list.array)
                return true
            }
            guard ok else { return false }
            if kept || (p == 0 && !owned) { elements.add(members.object) }
            return true
        }
        out = elements.array
        return ok
    }

    /// One `changes[]` element: its bytes for person `p` (nil: as written) and the people
    /// owning its parts (nobody's parts are the first person's).
    private func change(_ p: Int, _ s: inout JSONScanner, _ line: UnsafeBufferPointer<UInt8>, _ e: Int32, _ c: Int32)
        -> (bytes: [UInt8]?, owners: Set<Int>)? {
        guard s.peek() == 0x7B else { return s.skipValue() ? (nil, [0]) : nil }
        var owners: Set<Int> = []
        var done = false
        var members = Members()
        let ok = s.scanObject { s, key in
            let start = key.start - 1
            guard !done, s.equals(key, "value"), s.peek() == 0x7B else { return members.copy(&s, line, from: start) }
            done = true
            let valueStart = s.pos
            var value = Members()
            var seen: Set<String> = []
            let ok = s.scanObject { s, key in
                let start = key.start - 1
                let name = String(decoding: UnsafeBufferPointer(rebasing: line[key.start..<key.end]), as: UTF8.self)
                let list: UInt8? = switch name {
                case "messages": 0
                case "statuses": 1
                case "calls": 2
                default: nil
                }
                guard !key.escaped, list != nil || name == "contacts", !seen.contains(name), s.peek() == 0x5B else {
                    return value.copy(&s, line, from: start)
                }
                seen.insert(name)
                let listStart = s.pos
                var kept = Elements()
                let ok = s.scanArray { s, k in
                    let start = s.pos
                    if let list {
                        guard s.skipValue() else { return false }
                        let o = owner[Place(entry: e, change: c, list: list, index: Int32(clamping: k))] ?? 0
                        owners.insert(o)
                        if o == p { kept.add(line, start, s.pos) }
                        return true
                    }
                    guard let names = contactNames(&s, line) else { return false }
                    let mine = !ids[p].isDisjoint(with: names), nobodys = allIDs.isDisjoint(with: names)
                    if mine || (p == 0 && nobodys) { kept.add(line, start, s.pos) }
                    return true
                }
                guard ok else { return false }
                if !kept.isEmpty { value.add(line, start, listStart, kept.array) }
                return true
            }
            guard ok else { return false }
            members.add(line, start, valueStart, value.object)
            return true
        }
        guard ok else { return nil }
        if owners.isEmpty { owners = [0] }
        return (members.object, owners)
    }

    /// The ids a `contacts[]` entry names: `wa_id` normalised as a phone, `user_id` trimmed.
    private func contactNames(_ s: inout JSONScanner, _ line: UnsafeBufferPointer<UInt8>) -> Set<[UInt8]>? {
        guard s.peek() == 0x7B else { return s.skipValue() ? [] : nil }
        var names: Set<[UInt8]> = []
        let ok = s.scanObject { s, key in
            let phone = s.equals(key, "wa_id")
            guard phone || s.equals(key, "user_id"), s.peek() == 0x22, let span = s.scanString() else { return s.skipValue() }
            var raw: [UInt8] = []
            JSONScanner.unescape(line, span, into: &raw)
            let id = phone ? KeyCommand.phoneKey(raw) : raw.trimmingSpaces()
            if !id.isEmpty { names.insert(id) }
            return true
        }
        return ok ? names : nil
    }
}

/// An object's members, written back one after another.
private struct Members {
    private var bytes: [UInt8] = [0x7B]

    var object: [UInt8] { bytes + [0x7D] }

    /// Copies the member whose key starts at `start` and whose value is at the scanner.
    mutating func copy(_ s: inout JSONScanner, _ line: UnsafeBufferPointer<UInt8>, from start: Int) -> Bool {
        guard s.skipValue() else { return false }
        add(line, start, s.pos, [])
        return true
    }

    /// Adds `line[start..<valueStart]` (the key, as written) and `value`.
    mutating func add(_ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ valueStart: Int, _ value: [UInt8]) {
        if bytes.count > 1 { bytes.append(0x2C) }
        bytes.append(contentsOf: line[start..<valueStart])
        bytes.append(contentsOf: value)
    }
}

/// An array's elements, written back one after another.
private struct Elements {
    private var bytes: [UInt8] = [0x5B]
    private var count = 0

    var isEmpty: Bool { count == 0 }
    var array: [UInt8] { bytes + [0x5D] }

    mutating func add(_ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) {
        add(Array(line[start..<end]))
    }

    mutating func add(_ element: [UInt8]) {
        if count > 0 { bytes.append(0x2C) }
        bytes.append(contentsOf: element)
        count += 1
    }
}

extension [UInt8] {
    /// Without the spaces (U+0020) around it.
    func trimmingSpaces() -> [UInt8] {
        guard let first = firstIndex(where: { $0 != 0x20 }), let last = lastIndex(where: { $0 != 0x20 }) else { return [] }
        return Array(self[first...last])
    }
}
