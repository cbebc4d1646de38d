/// How a top-level `message_metadata` or `channel_metadata` value looked.
enum MetadataValue {
    case absent, null
    case string(StringSpan)
    /// Byte offsets of an object value in the line.
    case object(start: Int, end: Int)
    /// Any other JSON value: `bad_metadata`.
    case other
}

/// The ids of one Meta `value.contacts[]` entry: `wa_id` normalised as a phone, `user_id`
/// trimmed (empty when absent or empty).
struct ContactIDs {
    var phone = ByteRange.empty
    var userID = ByteRange.empty
    /// Both ids: the entry links them (SPEC section 12).
    var links: Bool { !phone.isEmpty && !userID.isEmpty }
}

/// Fields of `message` or `message_delivery_report`.
struct ChannelFields {
    var present = false
    var channel: StringSpan?
    var identity: StringSpan?
    var contactID: StringSpan?
    var status: StringSpan?
    var acceptTime: StringSpan?
    var injected = false
    /// Present but not strings (the detail says so; the codes stay as for absent fields).
    var channelNotString = false
    var identityNotString = false
    var contactIDNotString = false
    var statusNotString = false
    fileprivate var seen: UInt8 = 0
}

/// The top-level fields of one callback, gathered while the line is validated.
/// For a key that occurs twice in one object, the first occurrence counts.
struct TopFields {
    var appID: StringSpan?
    var eventTime: StringSpan?
    var acceptedTime: StringSpan?
    var message = ChannelFields()
    var report = ChannelFields()
    var metadata = MetadataValue.absent
    var channelMetadata = MetadataValue.absent
    var otherCallback = false
    var appIDNotString = false
    /// `"object":"whatsapp_business_account"` (first occurrence of `object`): a Meta body.
    var metaObject = false
    /// The value of the first top-level `entry` (byte offsets in the line), when it came
    /// before `object` (else it is walked while the line is scanned: `entryWalk`).
    var entry: (start: Int, end: Int)?
    enum EntryWalk { case none, walked, notArray }
    var entryWalk = EntryWalk.none
    private var seen: UInt8 = 0

    static let otherCallbackKeys: [StaticString] = [
        "event", "event_delivery_report", "message_submit_notification", "message_redaction",
        "conversation_start_notification", "conversation_stop_notification",
        "conversation_delete_notification", "contact_create_notification",
        "contact_delete_notification", "contact_merge_notification", "contact_update_notification",
        "duplicated_contact_identities_notification", "duplicated_identities", "capability_notification", "opt_in_notification",
        "opt_out_notification", "channel_event_notification", "unsupported_callback",
        "smart_conversation_notification", "record_notification", "batch_status_update_notification",
    ]

    /// Takes the first occurrence of a key: true the first time `bit` is seen.
    private static func first(_ seen: inout UInt8, _ bit: UInt8) -> Bool {
        if seen & bit != 0 { return false }
        seen |= bit
        return true
    }

    /// Captures a string value, or skips a value of another type (leaving `nil`).
    static func stringValue(_ s: inout JSONScanner, into slot: inout StringSpan?, first: Bool) -> Bool {
        if s.peek() == 0x22 {
            guard let span = s.scanString() else { return false }
            if first { slot = span }
            return true
        }
        return s.skipValue()
    }

    /// `stringValue`, noting in `notString` a first occurrence of another type.
    static func stringValue(_ s: inout JSONScanner, into slot: inout StringSpan?, first: Bool, notString: inout Bool) -> Bool {
        if first, s.peek() != 0x22 { notString = true }
        return stringValue(&s, into: &slot, first: first)
    }

    /// `object` and `entry`, the keys of a Meta body (SPEC section 11).
    private mutating func metaMember(_ s: inout JSONScanner, object: Bool) -> Bool {
        if object {
            let first = Self.first(&seen, 128)
            var value: StringSpan?
            guard Self.stringValue(&s, into: &value, first: first) else { return false }
            if let value, s.equals(value, "whatsapp_business_account") { metaObject = true }
            return true
        }
        let start = s.pos
        guard s.skipValue() else { return false }
        if entry == nil { entry = (start, s.pos) }
        return true
    }

    mutating func member(_ s: inout JSONScanner, _ key: StringSpan) -> Bool {
        // Dispatch on the key's length first: most keys are compared with one literal at most.
        switch key.escaped ? -1 : key.count {
        case 5:
            if s.equals(key, "entry") { return metaMember(&s, object: false) }
        case 6:
            if s.equals(key, "app_id") {
                return Self.stringValue(&s, into: &appID, first: Self.first(&seen, 1), notString: &appIDNotString)
            }
            if s.equals(key, "object") { return metaMember(&s, object: true) }
            return s.skipAnyValue()
        case 7:
            if s.equals(key, "message") {
                return Self.channelObject(&s, into: &message, first: Self.first(&seen, 8), receipt: false)
            }
        case 10:
            if s.equals(key, "event_time") { return Self.stringValue(&s, into: &eventTime, first: Self.first(&seen, 2)) }
            if s.equals(key, "project_id") { return s.skipAnyValue() }
        case 13:
            if s.equals(key, "accepted_time") { return Self.stringValue(&s, into: &acceptedTime, first: Self.first(&seen, 4)) }
        case 16:
            if s.equals(key, "message_metadata") { return Self.metadataValue(&s, into: &metadata, first: Self.first(&seen, 32)) }
            if s.equals(key, "channel_metadata") { return Self.metadataValue(&s, into: &channelMetadata, first: Self.first(&seen, 64)) }
        case 23:
            if s.equals(key, "message_delivery_report") {
                return Self.channelObject(&s, into: &report, first: Self.first(&seen, 16), receipt: true)
            }
        case -1:
            return escapedMember(&s, key)
        default:
            break
        }
        if !otherCallback {
            for name in Self.otherCallbackKeys where s.equals(key, name) {
                otherCallback = true
                break
            }
        }
        return s.skipAnyValue()
    }

    /// The slow path for a key written with escapes: compare it unescaped.
    private mutating func escapedMember(_ s: inout JSONScanner, _ key: StringSpan) -> Bool {
        if s.equals(key, "app_id") {
            return Self.stringValue(&s, into: &appID, first: Self.first(&seen, 1), notString: &appIDNotString)
        }
        if s.equals(key, "object") { return metaMember(&s, object: true) }
        if s.equals(key, "entry") { return metaMember(&s, object: false) }
        if s.equals(key, "event_time") { return Self.stringValue(&s, into: &eventTime, first: Self.first(&seen, 2)) }
        if s.equals(key, "accepted_time") { return Self.stringValue(&s, into: &acceptedTime, first: Self.first(&seen, 4)) }
        if s.equals(key, "message") {
            return Self.channelObject(&s, into: &message, first: Self.first(&seen, 8), receipt: false)
        }
        if s.equals(key, "message_delivery_report") {
            return Self.channelObject(&s, into: &report, first: Self.first(&seen, 16), receipt: true)
        }
        if s.equals(key, "message_metadata") { return Self.metadataValue(&s, into: &metadata, first: Self.first(&seen, 32)) }
        if s.equals(key, "channel_metadata") { return Self.metadataValue(&s, into: &channelMetadata, first: Self.first(&seen, 64)) }
        if !otherCallback {
            for name in Self.otherCallbackKeys where s.equals(key, name) {
                otherCallback = true
                break
            }
        }
        return s.skipValue()
    }

    private static func metadataValue(_ s: inout JSONScanner, into slot: inout MetadataValue, first: Bool) -> Bool {
        let start = s.pos
        switch s.peek() {
        case 0x22:
            guard let span = s.scanString() else { return false }
            if first { slot = .string(span) }
            return true
        case 0x7B:
            guard s.skipValue() else { return false }
            if first { slot = .object(start: start, end: s.pos) }
            return true
        case 0x6E:
            guard s.scanLiteral("null") else { return false }
            if first { slot = .null }
            return true
        default:
            guard s.skipValue() else { return false }
            if first { slot = .other }
            return true
        }
    }

    /// Reads `message` or `message_delivery_report`: presence of the key decides the kind,
    /// whatever its value; fields are read only from an object.
    static func channelObject(_ s: inout JSONScanner, into fields: inout ChannelFields, first: Bool, receipt: Bool) -> Bool {
        guard first else { return s.skipValue() }
        fields.present = true
        guard s.peek() == 0x7B else { return s.skipValue() }
        return s.scanObject { s, key in
            // The key's length picks the one name it can be (escaped keys compare them all).
            let length = key.escaped ? -1 : key.count
            if length == 16 || length < 0, s.equals(key, "channel_identity") {
                guard ChannelFields.first(&fields.seen, 1), s.peek() == 0x7B else { return s.skipValue() }
                var seenInner: UInt8 = 0
                return s.scanObject { s, key in
                    let length = key.escaped ? -1 : key.count
                    if length == 7 || length < 0, s.equals(key, "channel") {
                        return stringValue(&s, into: &fields.channel, first: ChannelFields.first(&seenInner, 1),
                                           notString: &fields.channelNotString)
                    }
                    if length == 8 || length < 0, s.equals(key, "identity") {
                        return stringValue(&s, into: &fields.identity, first: ChannelFields.first(&seenInner, 2),
                                           notString: &fields.identityNotString)
                    }
                    return s.skipAnyValue()
                }
            }
            if length == 10 || length < 0, s.equals(key, "contact_id") {
                return stringValue(&s, into: &fields.contactID, first: ChannelFields.first(&fields.seen, 2),
                                   notString: &fields.contactIDNotString)
            }
            if receipt {
                if length == 6 || length < 0, s.equals(key, "status") {
                    return stringValue(&s, into: &fields.status, first: ChannelFields.first(&fields.seen, 4),
                                       notString: &fields.statusNotString)
                }
            } else {
                if length == 11 || length < 0, s.equals(key, "accept_time") {
                    return stringValue(&s, into: &fields.acceptTime, first: ChannelFields.first(&fields.seen, 8))
                }
                if length == 8 || length < 0, s.equals(key, "injected") {
                    let first = ChannelFields.first(&fields.seen, 16)
                    if s.peek() == 0x74, s.scanLiteral("true") {
                        if first { fields.injected = true }
                        return true
                    }
                    return s.skipValue()
                }
            }
            return s.skipAnyValue()
        }
    }
}

extension ChannelFields {
    static func first(_ seen: inout UInt8, _ bit: UInt8) -> Bool {
        if seen & bit != 0 { return false }
        seen |= bit
        return true
    }
}
