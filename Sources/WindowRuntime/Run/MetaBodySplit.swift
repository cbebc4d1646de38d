import WindowCore

/// How `windowkeeper key` writes a Meta webhook body whose items belong to several people
/// (SPEC section 12, "Partition key"): one line per person, each the same envelope holding
/// only that person's items, in their order. Every other member is copied as written.
///
/// Parts that belong to nobody (an item without a contact key or with a diagnostic, a change
/// of another field, a part that is not an object) travel with the first person's line, so
/// nothing is lost and a diagnostic is still given where that line goes. A `contacts[]`
/// entry goes with the people whose phone or BSUID it names (an entry naming nobody's goes
/// with the first person's line). Lists left empty are left out.
///
/// The body is read once into its shape (entries, changes, value members, and the elements
/// of each list by owner); each person's line is then written from the shape, visiting only
/// the entries, changes and elements that person has: a body of n statuses for n people
/// costs O(n), not O(n²).
struct MetaBodySplit {
    private struct Place: Hashable {
        var entry: Int32, change: Int32, list: UInt8, index: Int32
    }

    /// The first record of each person (their key), in order of first appearance.
    private(set) var people: [DecodedRecord] = []
    private var owner: [Place: Int] = [:]
    /// The person each phone or BSUID belongs to (the first to carry it).
    private var personOfID: [[UInt8]: Int] = [:]

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
                return people.count - 1
            }()
            owner[Place(entry: item.entry, change: item.change, list: list, index: item.index)] = p
            for id in [r.phone, r.userID] where !id.isEmpty && personOfID[Array(bytes(id))] == nil {
                personOfID[Array(bytes(id))] = p
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

    // MARK: the body's shape

    /// Elements of an array by owner, in order.
    private typealias ByOwner = [Int: [Range<Int>]]

    private enum ValuePart {
        case raw(Range<Int>)
        /// A list read for owners: `key` spans `"name":` up to the array.
        case list(key: Range<Int>, ByOwner)
    }

    private enum ChangePart {
        case raw(Range<Int>)
        case value(key: Range<Int>, [ValuePart])
    }

    private enum EntryPart {
        case raw(Range<Int>)
        /// The changes, and the indices of those each owner keeps.
        case changes(key: Range<Int>, [Node<ChangePart>], [Int: [Int]])
    }

    private enum TopPart {
        case raw(Range<Int>)
        case entries(key: Range<Int>, [Node<EntryPart>], [Int: [Int]])
    }

    /// An array element: an object read into parts, or anything else as written.
    private enum Node<Part> {
        case raw(Range<Int>)
        case object([Part])
    }

    /// Each person's line (without its line feed), in the order of `people`.
    func lines(_ line: UnsafeBufferPointer<UInt8>) -> [[UInt8]] {
        var s = JSONScanner(line)
        var top: [TopPart] = []
        var done = false
        let ok = s.scanObject { s, key in
            let start = key.start - 1
            guard !done, s.equals(key, "entry"), s.peek() == 0x5B else { return Self.raw(&s, start, into: &top, TopPart.raw) }
            done = true
            let valueStart = s.pos
            var entries: [Node<EntryPart>] = []
            var keep: [Int: [Int]] = [:]
            let ok = s.scanArray { s, e in
                guard let (node, owners) = entry(&s, Int32(clamping: e)) else { return false }
                for o in owners.isEmpty ? [0] : owners.sorted() { keep[o, default: []].append(entries.count) }
                entries.append(node)
                return true
            }
            top.append(.entries(key: start..<valueStart, entries, keep))
            return ok
        }
        precondition(ok, "the line was validated before")
        return people.indices.map { p in
            var out = Writer(line)
            out.open(0x7B)
            for part in top {
                switch part {
                case .raw(let r): out.member(r)
                case .entries(let key, let entries, let keep):
                    out.member(key)
                    out.open(0x5B)
                    for i in keep[p] ?? [] { write(entries[i], p, &out) }
                    out.close(0x5D)
                }
            }
            out.close(0x7D)
            return out.bytes
        }
    }

    private static func raw<Part>(_ s: inout JSONScanner, _ start: Int, into parts: inout [Part], _ make: (Range<Int>) -> Part) -> Bool {
        guard s.skipValue() else { return false }
        parts.append(make(start..<s.pos))
        return true
    }

    /// One `entry[]` element and the owners of its parts (empty: it has no change).
    private func entry(_ s: inout JSONScanner, _ e: Int32) -> (Node<EntryPart>, Set<Int>)? {
        let start = s.pos
        guard s.peek() == 0x7B else { return s.skipValue() ? (.raw(start..<s.pos), [0]) : nil }
        var parts: [EntryPart] = []
        var owners: Set<Int> = []
        var done = false
        let ok = s.scanObject { s, key in
            let start = key.start - 1
            guard !done, s.equals(key, "changes"), s.peek() == 0x5B else { return Self.raw(&s, start, into: &parts, EntryPart.raw) }
            done = true
            let valueStart = s.pos
            var changes: [Node<ChangePart>] = []
            var keep: [Int: [Int]] = [:]
            let ok = s.scanArray { s, c in
                guard let (node, changeOwners) = change(&s, e, Int32(clamping: c)) else { return false }
                owners.formUnion(changeOwners)
                for o in changeOwners.sorted() { keep[o, default: []].append(changes.count) }
                changes.append(node)
                return true
            }
            parts.append(.changes(key: start..<valueStart, changes, keep))
            return ok
        }
        return ok ? (.object(parts), owners) : nil
    }

    /// One `changes[]` element and the owners of its parts (nobody's parts are the first
    /// person's).
    private func change(_ s: inout JSONScanner, _ e: Int32, _ c: Int32) -> (Node<ChangePart>, Set<Int>)? {
        let start = s.pos
        guard s.peek() == 0x7B else { return s.skipValue() ? (.raw(start..<s.pos), [0]) : nil }
        var parts: [ChangePart] = []
        var owners: Set<Int> = []
        var done = false
        let ok = s.scanObject { s, key in
            let start = key.start - 1
            guard !done, s.equals(key, "value"), s.peek() == 0x7B else { return Self.raw(&s, start, into: &parts, ChangePart.raw) }
            done = true
            let valueStart = s.pos
            var value: [ValuePart] = []
            var seen: UInt8 = 0
            let ok = s.scanObject { s, key in
                let start = key.start - 1
                let list: UInt8? = s.equals(key, "messages") ? 0 : s.equals(key, "statuses") ? 1 : s.equals(key, "calls") ? 2 : nil
                let bit: UInt8 = list.map { 1 << $0 } ?? (s.equals(key, "contacts") ? 8 : 0)
                guard bit != 0, seen & bit == 0, s.peek() == 0x5B else { return Self.raw(&s, start, into: &value, ValuePart.raw) }
                seen |= bit
                let listStart = s.pos
                var byOwner: ByOwner = [:]
                let ok = s.scanArray { s, k in
                    let start = s.pos
                    if let list {
                        guard s.skipValue() else { return false }
                        let o = owner[Place(entry: e, change: c, list: list, index: Int32(clamping: k))] ?? 0
                        owners.insert(o)
                        byOwner[o, default: []].append(start..<s.pos)
                        return true
                    }
                    guard let names = contactNames(&s) else { return false }
                    let named = Set(names.compactMap { personOfID[$0] })
                    for o in named.isEmpty ? [0] : named.sorted() { byOwner[o, default: []].append(start..<s.pos) }
                    return true
                }
                value.append(.list(key: start..<listStart, byOwner))
                return ok
            }
            parts.append(.value(key: start..<valueStart, value))
            return ok
        }
        guard ok else { return nil }
        if owners.isEmpty { owners = [0] }
        return (.object(parts), owners)
    }

    /// The ids a `contacts[]` entry names: `wa_id` normalised as a phone, `user_id` trimmed.
    private func contactNames(_ s: inout JSONScanner) -> [[UInt8]]? {
        guard s.peek() == 0x7B else { return s.skipValue() ? [] : nil }
        var names: [[UInt8]] = []
        let line = s.bytes
        let ok = s.scanObject { s, key in
            let phone = s.equals(key, "wa_id")
            guard phone || s.equals(key, "user_id"), s.peek() == 0x22, let span = s.scanString() else { return s.skipValue() }
            var raw: [UInt8] = []
            JSONScanner.unescape(line, span, into: &raw)
            let id = phone ? KeyCommand.phoneKey(raw) : raw.trimmingSpaces()
            if !id.isEmpty { names.append(id) }
            return true
        }
        return ok ? names : nil
    }

    // MARK: writing one person's line

    private func write(_ node: Node<EntryPart>, _ p: Int, _ out: inout Writer) {
        guard case .object(let parts) = node else {
            if case .raw(let r) = node { out.element(r) }
            return
        }
        out.elementStart()
        out.open(0x7B)
        for part in parts {
            switch part {
            case .raw(let r): out.member(r)
            case .changes(let key, let changes, let keep):
                out.member(key)
                out.open(0x5B)
                for i in keep[p] ?? [] { write(changes[i], p, &out) }
                out.close(0x5D)
            }
        }
        out.close(0x7D)
    }

    private func write(_ node: Node<ChangePart>, _ p: Int, _ out: inout Writer) {
        guard case .object(let parts) = node else {
            if case .raw(let r) = node { out.element(r) }
            return
        }
        out.elementStart()
        out.open(0x7B)
        for part in parts {
            switch part {
            case .raw(let r): out.member(r)
            case .value(let key, let value):
                out.member(key)
                out.open(0x7B)
                for v in value {
                    switch v {
                    case .raw(let r): out.member(r)
                    case .list(let key, let byOwner):
                        guard let elements = byOwner[p], !elements.isEmpty else { continue }
                        out.member(key)
                        out.open(0x5B)
                        for r in elements { out.element(r) }
                        out.close(0x5D)
                    }
                }
                out.close(0x7D)
            }
        }
        out.close(0x7D)
    }
}

/// Writes JSON from pieces of a line, with the commas between members and elements.
private struct Writer {
    let line: UnsafeBufferPointer<UInt8>
    var bytes: [UInt8] = []
    /// Whether the innermost open object or array has had a member or element yet.
    private var started: [Bool] = []

    init(_ line: UnsafeBufferPointer<UInt8>) {
        self.line = line
        bytes.reserveCapacity(line.count)
    }

    mutating func open(_ bracket: UInt8) {
        bytes.append(bracket)
        started.append(false)
    }

    mutating func close(_ bracket: UInt8) {
        bytes.append(bracket)
        started.removeLast()
    }

    /// A comma unless this is the first member or element of the innermost container.
    mutating func elementStart() {
        if started[started.count - 1] { bytes.append(0x2C) } else { started[started.count - 1] = true }
    }

    /// A member (`"key":value`, or `"key":` before an opened value) copied from the line.
    mutating func member(_ r: Range<Int>) {
        elementStart()
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: line[r]))
    }

    /// An element copied from the line.
    mutating func element(_ r: Range<Int>) { member(r) }
}

extension [UInt8] {
    /// Without the spaces (U+0020) around it.
    func trimmingSpaces() -> [UInt8] {
        guard let first = firstIndex(where: { $0 != 0x20 }), let last = lastIndex(where: { $0 != 0x20 }) else { return [] }
        return Array(self[first...last])
    }
}
