/// Meta webhook bodies (SPEC sections 11 and 12): entries, changes, their items and links.
extension RecordDecoder {
    /// The latest Unix second a timestamp may have (9999-12-31T23:59:59Z, as section 2).
    static let maxUnixSeconds: Int64 = 253_402_300_799

    /// The outcome of a Meta webhook body whose line is validated: its entries were walked
    /// during the scan, or (`entry` before `object`) are walked now.
    mutating func webhook(_ f: borrowing TopFields, _ line: UnsafeBufferPointer<UInt8>) -> LineOutcome {
        switch f.entryWalk {
        case .walked: return .webhook(items: items.count)
        case .notArray: return .rejected(.missingField, detail: "entry is not an array")
        case .none: break
        }
        guard let entry = f.entry else { return .rejected(.missingField, detail: "Meta webhook body without entry") }
        var s = JSONScanner(line, pos: entry.start)
        var fields = TopFields()
        let ok = walkEntries(&s, line, &fields)
        assert(ok, "the line was validated before")
        return fields.entryWalk == .walked ? .webhook(items: items.count) : .rejected(.missingField, detail: "entry is not an array")
    }

    /// Walks the `entry` value at the scanner, validating it, into `items`.
    mutating func walkEntries(_ s: inout JSONScanner, _ line: UnsafeBufferPointer<UInt8>, _ fields: inout TopFields) -> Bool {
        items.removeAll(keepingCapacity: true)
        guard s.peek() == 0x5B else {
            fields.entryWalk = .notArray
            return s.skipValue()
        }
        fields.entryWalk = .walked
        return s.scanArray { s, e in walkEntry(&s, Int32(clamping: e), line) }
    }

    private mutating func problem(_ place: WebhookItem.Place, _ e: Int32, _ c: Int32 = 0, _ k: Int32 = 0, _ detail: String) {
        items.append(WebhookItem(place: place, entry: e, change: c, index: k, outcome: .rejected(.missingField, detail: detail),
                                 record: DecodedRecord()))
    }

    private mutating func walkEntry(_ s: inout JSONScanner, _ e: Int32, _ line: UnsafeBufferPointer<UInt8>) -> Bool {
        guard s.peek() == 0x7B else {
            problem(.entry, e, 0, 0, "is not an object")
            return s.skipValue()
        }
        var changes = false
        let ok = s.scanObject { s, key in
            guard !changes, s.equals(key, "changes") else { return s.skipAnyValue() }
            changes = true
            guard s.peek() == 0x5B else {
                problem(.changes, e, 0, 0, "is not an array")
                return s.skipValue()
            }
            return s.scanArray { s, c in walkChange(&s, e, Int32(clamping: c), line) }
        }
        if ok, !changes { problem(.entry, e, 0, 0, "has no changes") }
        return ok
    }

    /// One `changes[]` element. `value` usually comes before `field` (Meta writes it so), so
    /// its items are decoded at once, and those of lists the field does not read (or all of
    /// them, for a field other than `messages` and `calls`) are dropped again.
    private mutating func walkChange(_ s: inout JSONScanner, _ e: Int32, _ c: Int32, _ line: UnsafeBufferPointer<UInt8>) -> Bool {
        guard s.peek() == 0x7B else {
            problem(.change, e, c, 0, "is not an object")
            return s.skipValue()
        }
        enum Field { case absent, messages, calls, other, notString }
        var field = Field.absent
        var value: Bool?  // nil: absent; false: not an object
        var app: StringSpan?
        var appNotString = false
        var statusesFirst = false
        let mark = items.count
        contactIDs.removeAll(keepingCapacity: true)
        let ok = s.scanObject { s, key in
            if field == .absent, s.equals(key, "field") {
                guard s.peek() == 0x22 else {
                    field = .notString
                    return s.skipValue()
                }
                guard let span = s.scanString() else { return false }
                field = s.equals(span, "messages") ? .messages : s.equals(span, "calls") ? .calls : .other
                return true
            }
            if value == nil, s.equals(key, "value") {
                guard s.peek() == 0x7B, field == .absent || field == .messages || field == .calls else {
                    value = s.peek() == 0x7B
                    return s.skipValue()
                }
                value = true
                return walkValue(&s, e, c, &app, &appNotString, &statusesFirst, line)
            }
            return s.skipAnyValue()
        }
        guard ok else { return false }
        guard field == .messages || field == .calls else {
            items.removeSubrange(mark...)
            switch field {
            case .other:
                items.append(WebhookItem(place: .change, entry: e, change: c, index: 0, outcome: .skipped, record: DecodedRecord()))
            case .notString: problem(.change, e, c, 0, "field is not a string")
            default: problem(.change, e, c, 0, "has no field")
            }
            return true
        }
        switch value {
        case nil: problem(.change, e, c, 0, "has no value")
        case false?: problem(.value, e, c, 0, "is not an object")
        default: break
        }
        // A messages change reads messages[] and statuses[]; a calls change calls[], and its
        // statuses[] (call statuses) as call items.
        let calls = field == .calls
        if items[mark...].contains(where: { calls ? ($0.place == .message || $0.place == .messages) : ($0.place == .call || $0.place == .calls) }) {
            let kept = items[mark...].filter { calls ? ($0.place != .message && $0.place != .messages) : ($0.place != .call && $0.place != .calls) }
            items.replaceSubrange(mark..., with: kept)
        }
        if statusesFirst {
            let part = items[mark...]
            items.replaceSubrange(mark..., with: part.filter(\.isMessagePart) + part.filter { !$0.isMessagePart })
        }
        if calls {
            for i in mark..<items.count where items[i].place == .status {
                guard case .record = items[i].outcome else { continue }
                items[i].record = Self.callStatus(items[i].record)
            }
        }
        if contactIDs.count == 1 {
            // A messages[] item with neither from nor from_user_id takes the one entry's ids.
            let only = contactIDs[0]
            for i in mark..<items.count where items[i].place == .message {
                guard case .record = items[i].outcome, items[i].record.phone.isEmpty, items[i].record.userID.isEmpty else { continue }
                var r = items[i].record
                r.phone = only.phone
                r.userID = only.userID
                if !r.group { r.contact = only.userID.isEmpty ? only.phone : only.userID }
                items[i].record = r
            }
        }
        let appRange = app.map { copy($0, line) }
        if let appRange, contactIDs.contains(where: \.links) {
            // Links come first, at the time of the change's first item (a message, a call or
            // a status, in the order they are applied) with a usable timestamp; without one
            // the change links nothing.
            let first = items[mark...].first {
                guard $0.place == .message || $0.place == .call || $0.place == .status, case .record = $0.outcome else { return false }
                return true
            }
            if let time = first?.record.time {
                var links: [WebhookItem] = []
                for (k, ids) in contactIDs.enumerated() where ids.links {
                    var r = DecodedRecord()
                    r.kind = .link
                    r.whatsapp = true
                    r.time = time
                    r.app = appRange
                    r.phone = ids.phone
                    r.userID = ids.userID
                    r.contact = ids.userID
                    hashKeys(&r)
                    links.append(WebhookItem(place: .contact, entry: e, change: c, index: Int32(clamping: k), outcome: .record, record: r))
                }
                items.insert(contentsOf: links, at: mark)
            }
        }
        for i in mark..<items.count where items[i].place == .message || items[i].place == .status || items[i].place == .call {
            guard let appRange else {
                items[i].outcome = .rejected(.missingField, detail: appNotString ? "value.metadata.phone_number_id is not a string"
                                                                                 : "no value.metadata.phone_number_id")
                continue
            }
            guard case .record = items[i].outcome else { continue }
            // Through a local: hashing reads `self`, which must not overlap a write to `items`
            // (that would copy the whole array for every item).
            var r = items[i].record
            r.app = appRange
            hashKeys(&r)
            items[i].record = r
        }
        // A change that gave no item at all (e.g. only `value.errors`) is counted as skipped.
        if items.count == mark {
            items.append(WebhookItem(place: .change, entry: e, change: c, index: 0, outcome: .skipped, record: DecodedRecord()))
        }
        return true
    }

    /// A status of a `calls` change (a call status such as `RINGING`): a call item that is
    /// counted and moves the clock.
    private static func callStatus(_ status: DecodedRecord) -> DecodedRecord {
        var r = DecodedRecord()
        r.kind = .inbound
        r.whatsapp = true
        r.call = true
        r.injected = true
        r.time = status.time
        r.contact = status.contact
        r.phone = status.phone
        r.userID = status.userID
        r.group = status.group
        r.contactNote = status.contactNote
        return r
    }

    private mutating func walkValue(_ s: inout JSONScanner, _ e: Int32, _ c: Int32, _ app: inout StringSpan?, _ appNotString: inout Bool,
                                    _ statusesFirst: inout Bool, _ line: UnsafeBufferPointer<UInt8>) -> Bool {
        var seen: UInt8 = 0
        return s.scanObject { s, key in
            let n = key.escaped ? -1 : key.count
            guard n == 8 || n == 5 || n < 0 else { return s.skipAnyValue() }
            if s.equals(key, "metadata") {
                guard seen & 1 == 0, s.peek() == 0x7B else { return s.skipValue() }
                seen |= 1
                var found = false
                return s.scanObject { s, key in
                    guard !found, s.equals(key, "phone_number_id") else { return s.skipAnyValue() }
                    found = true
                    return TopFields.stringValue(&s, into: &app, first: true, notString: &appNotString)
                }
            }
            if s.equals(key, "contacts") {
                guard seen & 8 == 0, s.peek() == 0x5B else { return s.skipValue() }
                seen |= 8
                return s.scanArray { s, _ in walkContact(&s, line) }
            }
            let kind: WebhookItemKind
            let bit: UInt8
            if s.equals(key, "messages") {
                (kind, bit) = (.message, 2)
            } else if s.equals(key, "statuses") {
                (kind, bit) = (.status, 4)
            } else if s.equals(key, "calls") {
                (kind, bit) = (.call, 16)
            } else {
                return s.skipAnyValue()
            }
            guard seen & bit == 0 else { return s.skipValue() }
            seen |= bit
            if kind != .status, seen & 4 != 0 { statusesFirst = true }
            let list: WebhookItem.Place = kind == .message ? .messages : kind == .status ? .statuses : .calls
            guard s.peek() == 0x5B else {
                problem(list, e, c, 0, "is not an array")
                return s.skipValue()
            }
            return s.scanArray { s, k in walkItem(&s, kind, e, c, Int32(clamping: k), line) }
        }
    }

    /// One `value.contacts[]` entry: its `wa_id` (a phone) and `user_id` (a BSUID).
    private mutating func walkContact(_ s: inout JSONScanner, _ line: UnsafeBufferPointer<UInt8>) -> Bool {
        guard s.peek() == 0x7B else {
            contactIDs.append(ContactIDs())
            return s.skipValue()
        }
        var waID: StringSpan?, userID: StringSpan?
        var seen: UInt8 = 0
        let ok = s.scanObject { s, key in
            let n = key.escaped ? -1 : key.count
            if n == 5 || n < 0, s.equals(key, "wa_id") {
                defer { seen |= 1 }
                return TopFields.stringValue(&s, into: &waID, first: seen & 1 == 0)
            }
            if n == 7 || n < 0, s.equals(key, "user_id") {
                defer { seen |= 2 }
                return TopFields.stringValue(&s, into: &userID, first: seen & 2 == 0)
            }
            return s.skipAnyValue()
        }
        guard ok else { return false }
        var ids = ContactIDs()
        ids.userID = trimmedID(userID, line)
        ids.phone = phone(waID, line, userID: ids.userID)
        contactIDs.append(ids)
        return true
    }

    private mutating func walkItem(_ s: inout JSONScanner, _ kind: WebhookItemKind, _ e: Int32, _ c: Int32, _ k: Int32,
                                   _ line: UnsafeBufferPointer<UInt8>) -> Bool {
        let place: WebhookItem.Place = kind == .message ? .message : kind == .status ? .status : .call
        guard s.peek() == 0x7B else {
            problem(place, e, c, k, "is not an object")
            return s.skipValue()
        }
        var f = WebhookItemFields()
        guard s.scanObject({ s, key in f.member(&s, key, kind: kind) }) else { return false }
        var r = DecodedRecord()
        let outcome = itemRecord(f, kind, line, &r)
        items.append(WebhookItem(place: place, entry: e, change: c, index: k, outcome: outcome, record: r))
        return true
    }

    /// The record of one item; its app and hashes are set once the change is read.
    private mutating func itemRecord(_ f: WebhookItemFields, _ kind: WebhookItemKind, _ line: UnsafeBufferPointer<UInt8>,
                                     _ r: inout DecodedRecord) -> LineOutcome {
        let isStatus = kind == .status
        r.kind = isStatus ? .receipt : .inbound
        r.whatsapp = true
        if isStatus, f.status == nil {
            return .rejected(.missingField, detail: f.statusNotString ? "status is not a string" : "no status")
        }
        let seconds: Int64?
        switch f.time {
        case .absent:
            return .rejected(.missingField, detail: "no timestamp")
        case .string(let span):
            if span.escaped {
                let text = copy(span, line)
                seconds = withBytes(text) { Self.unixSeconds($0, 0, $0.count) }
            } else {
                seconds = Self.unixSeconds(line, span.start, span.end)
            }
            if seconds == nil {
                let text = string(copy(span, line))
                return .rejected(.badTimestamp, detail: "timestamp \(text.prefix(64).debugDescription) is not Unix seconds")
            }
        case .number(let start, let end):
            seconds = Self.unixSeconds(line, start, end)
            if seconds == nil {
                let text = String(decoding: UnsafeBufferPointer(rebasing: line[start..<min(end, start + 64)]), as: UTF8.self)
                return .rejected(.badTimestamp, detail: "timestamp \(text) is not Unix seconds")
            }
        case .other:
            return .rejected(.badTimestamp, detail: "timestamp is neither a string of digits nor an integer")
        }
        r.time = seconds! &* 1_000
        let scanner = JSONScanner(line)
        switch kind {
        case .status:
            r.statusText = upperCased(copy(f.status!, line))
            r.status = withBytes(r.statusText) { Self.status(of: $0) }
        case .message:
            if let type = f.type, scanner.equals(type, "system") {
                r.injected = true
                r.system = true
            }
        case .call:
            r.call = true
            let userCall = f.event.map { scanner.equals($0, "connect") } == true
                && f.direction.map { scanner.equals($0, "USER_INITIATED") } == true
            r.injected = !userCall
        }
        // Ids (SPEC section 12): a status's are `recipient_id` and `recipient_user_id`; a group
        // status's `recipient_id` is the group, and it carries no person's id (the participant
        // gets nothing from it, and links nothing).
        let groupStatus = isStatus && f.groupStatus
        if !groupStatus {
            r.userID = trimmedID(f.userID, line)
            r.phone = phone(f.contact, line, userID: r.userID)
        }
        if kind == .message, let group = f.groupID, group.count > 0 {
            r.group = true
            r.contact = groupKey(group, line)
        } else if groupStatus {
            r.group = true
            if let group = f.contact, group.count > 0 {
                r.contact = groupKey(group, line)
            } else {
                r.contactNote = .metaGroupWithoutID
            }
        } else {
            r.contact = r.userID.isEmpty ? r.phone : r.userID
            if r.contact.isEmpty {
                let present = f.contact != nil
                r.contactNote = isStatus ? (f.contactNotString ? .metaRecipientNotString : present ? .metaRecipientEmpty : .metaRecipientAbsent)
                    : (f.contactNotString ? .metaFromNotString : present ? .metaFromEmpty : .metaFromAbsent)
            }
        }
        if isStatus {
            takePricing(f.pricing, line, into: &r)
            // As for Sinch receipts: only a pricing receipt (DELIVERED, READ) reads its pricing.
            r.badMetadata = f.badPricing && r.status.isPricing
        }
        return .record
    }

    /// A phone field's normalised value; empty when absent, empty, or the same as the BSUID
    /// beside it (a BSUID written in the phone field is not a phone).
    private mutating func phone(_ span: StringSpan?, _ line: UnsafeBufferPointer<UInt8>, userID: ByteRange) -> ByteRange {
        guard let span, span.count > 0 else { return .empty }
        let p = normalisedContact(span, line)
        if p.isEmpty { return .empty }
        if !userID.isEmpty, withBytes(p, { a in withBytes(userID) { a.elementsEqual($0) } }) { return .empty }
        return p
    }

    /// A BSUID field's value, unescaped and trimmed of surrounding spaces (empty if none).
    mutating func trimmedID(_ span: StringSpan?, _ line: UnsafeBufferPointer<UInt8>) -> ByteRange {
        guard let span, span.count > 0 else { return .empty }
        var r = copy(span, line)
        withBytes(r) { b in
            var lo = 0, hi = b.count
            while lo < hi, b[lo] == 0x20 { lo += 1 }
            while hi > lo, b[hi - 1] == 0x20 { hi -= 1 }
            r = ByteRange(start: r.start + Int32(lo), count: Int32(hi - lo))
        }
        return r.isEmpty ? .empty : r
    }

    /// `group:` and the group id, unescaped (otherwise as written).
    private func groupKey(_ span: StringSpan, _ line: UnsafeBufferPointer<UInt8>) -> ByteRange {
        let start = arena.count
        let prefix: StaticString = "group:"
        arena.append(UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount))
        JSONScanner.unescape(line, span, into: arena)
        return ByteRange(start: Int32(start), count: Int32(arena.count - start))
    }

    /// Unix seconds written as plain digits in `line[start..<end]` (at most the largest
    /// RFC 3339 second), else nil.
    static func unixSeconds(_ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int64? {
        guard end > start, end - start <= 12 else { return nil }
        var v: Int64 = 0
        for i in start..<end {
            let d = line[i] &- 0x30
            guard d < 10 else { return nil }
            v = v * 10 + Int64(d)
        }
        return v <= maxUnixSeconds ? v : nil
    }
}
