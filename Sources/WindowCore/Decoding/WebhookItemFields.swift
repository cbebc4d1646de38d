/// Which list of a change's `value` an item comes from.
enum WebhookItemKind {
    case message, status, call
}

/// The fields read from one `messages[]`, `statuses[]` or `calls[]` item (first occurrences).
struct WebhookItemFields {
    enum Time {
        case absent
        case string(StringSpan)
        /// A JSON number's bytes (only plain digits are a timestamp).
        case number(start: Int, end: Int)
        case other
    }

    /// The phone field: `from` (messages, calls) or `recipient_id` (statuses; a group
    /// status's group id).
    var contact: StringSpan?
    var contactNotString = false
    /// The BSUID field: `from_user_id` or `recipient_user_id`.
    var userID: StringSpan?
    /// A message's `group_id`.
    var groupID: StringSpan?
    /// A status's `recipient_type` is `group` (its `recipient_id` is the group id).
    var groupStatus = false
    /// A call's `event` and `direction`.
    var event: StringSpan?
    var direction: StringSpan?
    var time = Time.absent
    var type: StringSpan?
    var status: StringSpan?
    var statusNotString = false
    /// `pricing.*`, `conversation.id` and `conversation.origin.type` in the slots of the
    /// Sinch keys they mean (`origin.type` in the fallback category slot).
    var pricing = PricingKey.Slots()
    var badPricing = false
    private var seen: UInt16 = 0

    private mutating func first(_ bit: UInt16) -> Bool {
        if seen & bit != 0 { return false }
        seen |= bit
        return true
    }

    @inline(__always)
    mutating func member(_ s: inout JSONScanner, _ key: StringSpan, kind: WebhookItemKind) -> Bool {
        let n = key.escaped ? -1 : key.count
        if n == 9 || n < 0, s.equals(key, "timestamp") { return timeValue(&s, first: first(1)) }
        switch kind {
        case .status:
            if n == 12 || n < 0, s.equals(key, "recipient_id") {
                return TopFields.stringValue(&s, into: &contact, first: first(2), notString: &contactNotString)
            }
            if n == 6 || n < 0, s.equals(key, "status") {
                return TopFields.stringValue(&s, into: &status, first: first(4), notString: &statusNotString)
            }
            if n == 7 || n < 0, s.equals(key, "pricing") { return pricingValue(&s, first: first(8)) }
            if n == 12 || n < 0, s.equals(key, "conversation") { return conversationValue(&s, first: first(16)) }
            if n == 17 || n < 0, s.equals(key, "recipient_user_id") {
                let isFirst = first(32)
                return TopFields.stringValue(&s, into: &userID, first: isFirst)
            }
            if n == 14 || n < 0, s.equals(key, "recipient_type") {
                var type: StringSpan?
                let isFirst = first(64)
                guard TopFields.stringValue(&s, into: &type, first: isFirst) else { return false }
                if isFirst, let type, s.equals(type, "group") { groupStatus = true }
                return true
            }
        case .message:
            if n == 4 || n < 0, s.equals(key, "from") {
                return TopFields.stringValue(&s, into: &contact, first: first(2), notString: &contactNotString)
            }
            if n == 4 || n < 0, s.equals(key, "type") {
                let isFirst = first(4)
                return TopFields.stringValue(&s, into: &type, first: isFirst)
            }
            if n == 12 || n < 0, s.equals(key, "from_user_id") {
                let isFirst = first(32)
                return TopFields.stringValue(&s, into: &userID, first: isFirst)
            }
            if n == 8 || n < 0, s.equals(key, "group_id") {
                let isFirst = first(64)
                return TopFields.stringValue(&s, into: &groupID, first: isFirst)
            }
        case .call:
            if n == 4 || n < 0, s.equals(key, "from") {
                return TopFields.stringValue(&s, into: &contact, first: first(2), notString: &contactNotString)
            }
            if n == 12 || n < 0, s.equals(key, "from_user_id") {
                let isFirst = first(32)
                return TopFields.stringValue(&s, into: &userID, first: isFirst)
            }
            if n == 5 || n < 0, s.equals(key, "event") {
                let isFirst = first(4)
                return TopFields.stringValue(&s, into: &event, first: isFirst)
            }
            if n == 9 || n < 0, s.equals(key, "direction") {
                let isFirst = first(8)
                return TopFields.stringValue(&s, into: &direction, first: isFirst)
            }
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
