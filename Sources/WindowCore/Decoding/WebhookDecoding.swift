/// One item of a Meta WhatsApp Cloud API webhook body (SPEC section 11): a record, a change
/// of another field (skipped), or an unusable part of the body with its diagnostic.
public struct WebhookItem: Sendable {
    public enum Place: UInt8, Sendable {
        case entry, changes, change, value, messages, statuses, message, status
    }

    public var place: Place
    public var entry: Int32
    public var change: Int32
    public var index: Int32
    /// `.record` (then `record` holds it), `.skipped` or `.rejected`.
    public var outcome: LineOutcome
    public var record: DecodedRecord

    /// The item as a diagnostic's `detail` names it: `entry[0].changes[1].value.statuses[2]`.
    public var path: String {
        var p = "entry[\(entry)]"
        if place == .entry { return p }
        p += ".changes"
        if place == .changes { return p }
        p += "[\(change)]"
        switch place {
        case .value: p += ".value"
        case .messages: p += ".value.messages"
        case .statuses: p += ".value.statuses"
        case .message: p += ".value.messages[\(index)]"
        case .status: p += ".value.statuses[\(index)]"
        default: break
        }
        return p
    }

    /// Items of the messages list sort before those of the statuses list.
    var isMessagePart: Bool { place == .message || place == .messages }
}

/// The fields read from one `messages[]` or `statuses[]` item (first occurrences).
struct WebhookItemFields {
    enum Time {
        case absent
        case string(StringSpan)
        /// A JSON number's bytes (only plain digits are a timestamp).
        case number(start: Int, end: Int)
        case other
    }

    var contact: StringSpan?
    var contactNotString = false
    var time = Time.absent
    var type: StringSpan?
    var status: StringSpan?
    var statusNotString = false
    /// `pricing.*`, `conversation.id` and `conversation.origin.type` in the slots of the
    /// Sinch keys they mean (`origin.type` in the fallback category slot).
    var pricing = PricingKey.Slots()
    var badPricing = false
    private var seen: UInt8 = 0

    private mutating func first(_ bit: UInt8) -> Bool {
        if seen & bit != 0 { return false }
        seen |= bit
        return true
    }

    @inline(__always)
    mutating func member(_ s: inout JSONScanner, _ key: StringSpan, status isStatus: Bool) -> Bool {
        let n = key.escaped ? -1 : key.count
        if n == 9 || n < 0, s.equals(key, "timestamp") { return timeValue(&s, first: first(1)) }
        if isStatus {
            if n == 12 || n < 0, s.equals(key, "recipient_id") {
                return TopFields.stringValue(&s, into: &contact, first: first(2), notString: &contactNotString)
            }
            if n == 6 || n < 0, s.equals(key, "status") {
                return TopFields.stringValue(&s, into: &status, first: first(4), notString: &statusNotString)
            }
            if n == 7 || n < 0, s.equals(key, "pricing") { return pricingValue(&s, first: first(8)) }
            if n == 12 || n < 0, s.equals(key, "conversation") { return conversationValue(&s, first: first(16)) }
        } else {
            if n == 4 || n < 0, s.equals(key, "from") {
                return TopFields.stringValue(&s, into: &contact, first: first(2), notString: &contactNotString)
            }
            if n == 4 || n < 0, s.equals(key, "type") { return TopFields.stringValue(&s, into: &type, first: first(4)) }
        }
        return s.skipAnyValue()
    }

    /// A string value into pricing slot `index` (first occurrence; other types are skipped).
    @inline(__always)
    private static func slot(_ s: inout JSONScanner, _ slots: inout PricingKey.Slots, _ index: Int) -> Bool {
        var span: StringSpan?
        let first = !slots[index].seen
        guard TopFields.stringValue(&s, into: &span, first: first) else { return false }
        if first { slots[index].offer(span, exact: true) }
        return true
    }

    /// `pricing` and `conversation`: an object is read, `null` gives nothing, anything else
    /// is `bad_metadata`. True when the value is an object to read.
    @inline(__always)
    private mutating func isObject(_ s: inout JSONScanner, first: Bool, _ ok: inout Bool) -> Bool {
        guard first else { ok = s.skipValue(); return false }
        switch s.peek() {
        case 0x7B: return true
        case 0x6E where s.scanLiteral("null"): ok = true
        default:
            badPricing = true
            ok = s.skipValue()
        }
        return false
    }

    private mutating func pricingValue(_ s: inout JSONScanner, first: Bool) -> Bool {
        var ok = false
        guard isObject(&s, first: first, &ok) else { return ok }
        var slots = pricing
        defer { pricing = slots }
        return s.scanObject { s, key in
            let n = key.escaped ? -1 : key.count
            if n == 13 || n < 0, s.equals(key, "pricing_model") { return Self.slot(&s, &slots, PricingKey.pricingModel) }
            if n == 8 || n < 0, s.equals(key, "category") { return Self.slot(&s, &slots, PricingKey.pricingCategory) }
            if n == 4 || n < 0, s.equals(key, "type") { return Self.slot(&s, &slots, PricingKey.pricingType) }
            return s.skipAnyValue()
        }
    }

    private mutating func conversationValue(_ s: inout JSONScanner, first: Bool) -> Bool {
        var ok = false
        guard isObject(&s, first: first, &ok) else { return ok }
        var slots = pricing
        defer { pricing = slots }
        return s.scanObject { s, key in
            if s.equals(key, "id") { return Self.slot(&s, &slots, PricingKey.whatsappConversationID) }
            if s.equals(key, "origin"), s.peek() == 0x7B {
                return s.scanObject { s, key in
                    s.equals(key, "type") ? Self.slot(&s, &slots, PricingKey.category) : s.skipAnyValue()
                }
            }
            return s.skipAnyValue()
        }
    }

    private mutating func timeValue(_ s: inout JSONScanner, first: Bool) -> Bool {
        let start = s.pos
        switch s.peek() {
        case 0x22:
            guard let span = s.scanString() else { return false }
            if first { time = .string(span) }
        case .some(let b) where b == 0x2D || b &- 0x30 < 10:
            guard s.scanNumber() else { return false }
            if first { time = .number(start: start, end: s.pos) }
        default:
            guard s.skipValue() else { return false }
            if first { time = .other }
        }
        return true
    }
}

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
    /// its items are decoded at once and dropped again if the field is not `messages`.
    private mutating func walkChange(_ s: inout JSONScanner, _ e: Int32, _ c: Int32, _ line: UnsafeBufferPointer<UInt8>) -> Bool {
        guard s.peek() == 0x7B else {
            problem(.change, e, c, 0, "is not an object")
            return s.skipValue()
        }
        enum Field { case absent, messages, other, notString }
        var field = Field.absent
        var value: Bool?  // nil: absent; false: not an object
        var app: StringSpan?
        var appNotString = false
        var statusesFirst = false
        let mark = items.count
        let ok = s.scanObject { s, key in
            if field == .absent, s.equals(key, "field") {
                guard s.peek() == 0x22 else {
                    field = .notString
                    return s.skipValue()
                }
                guard let span = s.scanString() else { return false }
                field = s.equals(span, "messages") ? .messages : .other
                return true
            }
            if value == nil, s.equals(key, "value") {
                guard s.peek() == 0x7B, field == .absent || field == .messages else {
                    value = s.peek() == 0x7B
                    return s.skipValue()
                }
                value = true
                return walkValue(&s, e, c, &app, &appNotString, &statusesFirst, line)
            }
            return s.skipAnyValue()
        }
        guard ok else { return false }
        if field != .messages {
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
        if statusesFirst {
            let part = items[mark...]
            items.replaceSubrange(mark..., with: part.filter(\.isMessagePart) + part.filter { !$0.isMessagePart })
        }
        let appRange = app.map { copy($0, line) }
        for i in mark..<items.count where items[i].place == .message || items[i].place == .status {
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
        return true
    }

    private mutating func walkValue(_ s: inout JSONScanner, _ e: Int32, _ c: Int32, _ app: inout StringSpan?, _ appNotString: inout Bool,
                                    _ statusesFirst: inout Bool, _ line: UnsafeBufferPointer<UInt8>) -> Bool {
        var seen: UInt8 = 0
        return s.scanObject { s, key in
            let n = key.escaped ? -1 : key.count
            guard n == 8 || n < 0 else { return s.skipAnyValue() }
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
            let messages = s.equals(key, "messages")
            guard messages || s.equals(key, "statuses") else { return s.skipAnyValue() }
            let bit: UInt8 = messages ? 2 : 4
            guard seen & bit == 0 else { return s.skipValue() }
            seen |= bit
            if messages, seen & 4 != 0 { statusesFirst = true }
            guard s.peek() == 0x5B else {
                problem(messages ? .messages : .statuses, e, c, 0, "is not an array")
                return s.skipValue()
            }
            return s.scanArray { s, k in walkItem(&s, messages ? .message : .status, e, c, Int32(clamping: k), line) }
        }
    }

    private mutating func walkItem(_ s: inout JSONScanner, _ place: WebhookItem.Place, _ e: Int32, _ c: Int32, _ k: Int32,
                                   _ line: UnsafeBufferPointer<UInt8>) -> Bool {
        guard s.peek() == 0x7B else {
            problem(place, e, c, k, "is not an object")
            return s.skipValue()
        }
        var f = WebhookItemFields()
        guard s.scanObject({ s, key in f.member(&s, key, status: place == .status) }) else { return false }
        var r = DecodedRecord()
        let outcome = itemRecord(f, status: place == .status, line, &r)
        items.append(WebhookItem(place: place, entry: e, change: c, index: k, outcome: outcome, record: r))
        return true
    }

    /// The record of one item; its app and hashes are set once the change is read.
    private mutating func itemRecord(_ f: WebhookItemFields, status isStatus: Bool, _ line: UnsafeBufferPointer<UInt8>,
                                     _ r: inout DecodedRecord) -> LineOutcome {
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
        if let span = f.status {
            r.statusText = upperCased(copy(span, line))
            r.status = withBytes(r.statusText) { Self.status(of: $0) }
        } else if let type = f.type, JSONScanner(line).equals(type, "system") {
            r.injected = true
            r.system = true
        }
        r.contact = normalisedContact(f.contact, line)
        if r.contact.isEmpty {
            r.contactNote = isStatus ? (f.contactNotString ? .metaRecipientNotString : .metaRecipientAbsent)
                : (f.contactNotString ? .metaFromNotString : .metaFromAbsent)
        }
        if isStatus {
            takePricing(f.pricing, line, into: &r)
            r.badMetadata = f.badPricing
        }
        return .record
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
