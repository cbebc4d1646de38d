/// Decodes one input line into a `DecodedRecord`, straight from the bytes.
///
/// It validates the whole line as JSON (so `invalid_json` is exact) but extracts only the
/// fields SPEC section 2 reads. The clock checks (`future_timestamp`, `too_late`) and the
/// `missing_contact` check need the clock and are left to `Ingest`.
public struct RecordDecoder: Sendable {
    /// Unescaped, normalised field values of the records decoded since the last
    /// `resetArena` or `startArena`.
    public private(set) var arena = ByteArena()
    public private(set) var record = DecodedRecord()
    /// Unescaped text that is not kept (an escaped identity, a metadata string).
    let scratch = ByteArena(capacity: 1024)
    /// The unescaped `channel_metadata` string, while `scratch` holds `message_metadata`'s.
    private let scratch2 = ByteArena(capacity: 256)
    /// The items of the last Meta webhook body (`LineOutcome.webhook`).
    public internal(set) var items: [WebhookItem] = []
    /// The ids of the current change's `value.contacts[]` entries, in order.
    var contactIDs: [ContactIDs] = []

    public init() {}

    /// The bytes of `range` in the arena.
    @inlinable
    public func withBytes<R>(_ range: ByteRange, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        body(UnsafeBufferPointer(start: arena.base + Int(range.start), count: Int(range.count)))
    }

    public func string(_ range: ByteRange) -> String {
        withBytes(range) { String(decoding: $0, as: UTF8.self) }
    }

    /// Empties the arena; ranges of earlier records become invalid.
    public mutating func resetArena() {
        arena.removeAll()
    }

    /// Leaves the arena to whoever holds it (it is not written again) and starts a new one of
    /// `capacity` bytes; ranges of earlier records stay valid in the old arena.
    public mutating func startArena(capacity: Int) {
        arena = ByteArena(capacity: capacity)
    }

    /// Decodes `line` (without its `\n`). The record's strings are appended to the arena,
    /// so the records of a whole segment can share it.
    public mutating func decode(_ line: UnsafeBufferPointer<UInt8>) -> LineOutcome {
        if Self.isBlank(line) { return .blank }
        guard UTF8Validator.isValid(line) else { return .rejected(.invalidUTF8, detail: "line is not valid UTF-8") }
        var fields = TopFields()
        var scanner = JSONScanner(line)
        scanner.skipWhitespace()
        if scanner.peek() != 0x7B {
            let valid = scanner.skipValue() && { scanner.skipWhitespace(); return scanner.atEnd }()
            return .rejected(.invalidJSON, detail: valid ? "valid JSON but not an object" : "malformed JSON")
        }
        let ok = scanner.scanObject { s, key in
            // A Meta body names its object first: its entries are walked in this one pass.
            if fields.metaObject, fields.entryWalk == .none, fields.entry == nil, s.equals(key, "entry") {
                return walkEntries(&s, line, &fields)
            }
            return fields.member(&s, key)
        }
        scanner.skipWhitespace()
        guard ok else { return .rejected(.invalidJSON, detail: "malformed JSON near byte \(scanner.pos + 1)") }
        guard scanner.atEnd else { return .rejected(.invalidJSON, detail: "trailing data after the object at byte \(scanner.pos + 1)") }
        return classify(fields, line)
    }

    static func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        for b in line where b != 0x20 && b != 0x09 && b != 0x0D { return false }
        return true
    }

    private mutating func classify(_ f: borrowing TopFields, _ line: UnsafeBufferPointer<UInt8>) -> LineOutcome {
        var r = DecodedRecord()
        if f.metaObject {
            return webhook(f, line)
        } else if f.message.present {
            r.kind = .inbound
            return classify(f, f.message, line, &r)
        } else if f.report.present {
            r.kind = .receipt
            return classify(f, f.report, line, &r)
        } else if f.otherCallback {
            return .skipped
        } else {
            return .rejected(.unknownCallback, detail: "no known callback key")
        }
    }

    private mutating func classify(_ f: borrowing TopFields, _ part: borrowing ChannelFields,
                                   _ line: UnsafeBufferPointer<UInt8>, _ r: inout DecodedRecord) -> LineOutcome {
        guard let appSpan = f.appID else {
            return .rejected(.missingField, detail: f.appIDNotString ? "app_id is not a string" : "app_id")
        }
        let partName = r.kind == .receipt ? "message_delivery_report" : "message"
        guard let channelSpan = part.channel else {
            return .rejected(.missingField, detail: part.channelNotString ? "\(partName).channel_identity.channel is not a string"
                                                                            : "channel_identity.channel")
        }
        if r.kind == .receipt {
            guard let statusSpan = part.status else {
                return .rejected(.missingField, detail: part.statusNotString ? "message_delivery_report.status is not a string"
                                                                             : "message_delivery_report.status")
            }
            r.statusText = copy(statusSpan, line)
            r.status = withBytes(r.statusText) { Self.status(of: $0) }
        }
        let timeField: (span: StringSpan, name: String)
        if let s = f.eventTime, s.count > 0 {
            timeField = (s, "event_time")
        } else if let s = f.acceptedTime, s.count > 0 {
            timeField = (s, "accepted_time")
        } else if r.kind == .inbound, let s = part.acceptTime, s.count > 0 {
            timeField = (s, "message.accept_time")
        } else {
            return .rejected(.missingField, detail: "event time (event_time, accepted_time, message.accept_time)")
        }
        // Parsed where it stands in the line unless it has escapes (it is not kept).
        let span = timeField.span
        let parsed = span.escaped ? withBytes(copy(span, line)) { Timestamp.parse($0) }
            : Timestamp.parse(UnsafeBufferPointer(rebasing: line[span.start..<span.end]))
        guard let t = parsed else {
            let text = string(copy(span, line))
            return .rejected(.badTimestamp, detail: "\(timeField.name) \(text.prefix(64).debugDescription)")
        }
        r.time = t
        r.app = copy(appSpan, line)
        r.whatsapp = JSONScanner(line).equals(channelSpan, "WHATSAPP")
        r.injected = part.injected
        if r.whatsapp {
            r.contactID = part.contactID.map { copy($0, line) } ?? .empty
            r.contact = normalisedContact(part.identity, line)
            if r.contact.isEmpty {
                r.contact = r.contactID
                if r.contact.isEmpty {
                    // Present but empty is named as empty; not a string says so first.
                    let identityEmpty = part.identity != nil, contactIDEmpty = part.contactID != nil
                    switch (part.identityNotString, part.contactIDNotString) {
                    case (true, true): r.contactNote = .sinchNeitherString
                    case (true, false): r.contactNote = .sinchIdentityNotString
                    case (false, true): r.contactNote = .sinchContactIDNotString
                    case (false, false):
                        r.contactNote = identityEmpty ? (contactIDEmpty ? .sinchBothEmpty : .sinchIdentityEmpty)
                            : contactIDEmpty ? .sinchContactIDEmpty : .sinch
                    }
                }
            } else if withBytes(r.contact, { Self.isBSUID($0) }), bsuidAsWritten(part.identity!, line, r.contact) {
                r.userID = r.contact  // the key as it is (SPEC section 12)
            } else {
                r.phone = r.contact
            }
        }
        // Pricing is read only on WhatsApp pricing receipts (SPEC section 12).
        if r.kind == .receipt, r.whatsapp, r.status.isPricing {
            readMetadata(f.metadata, f.channelMetadata, line, into: &r)
        }
        if r.whatsapp { hashKeys(&r) }
        record = r
        return .record
    }

    /// Whether bytes are a business-scoped user id as a Sinch identity writes one:
    /// `^[A-Z]{2}(\.ENT)?\.[A-Za-z0-9]{1,128}$` (SPEC section 12).
    @inline(__always)
    public static func isBSUID(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        // A phone almost never has a dot third: one compare rejects it.
        guard b.count >= 4, b[2] == 0x2E, b[0] &- 0x41 < 26, b[1] &- 0x41 < 26 else { return false }
        var i = 3
        if b.count >= 8, b[3] == 0x45, b[4] == 0x4E, b[5] == 0x54, b[6] == 0x2E { i = 7 }
        let n = b.count - i
        guard n >= 1, n <= 128 else { return false }
        while i < b.count {
            let c = b[i]
            guard c &- 0x30 < 10 || (c | 0x20) &- 0x61 < 26 else { return false }
            i += 1
        }
        return true
    }

    /// Whether the identity, trimmed of surrounding spaces, is exactly its normalised key
    /// (no inner space, no `+` removed): only then is a key matching the pattern a BSUID.
    private func bsuidAsWritten(_ span: StringSpan, _ line: UnsafeBufferPointer<UInt8>, _ key: ByteRange) -> Bool {
        func trimmedCount(_ b: UnsafeBufferPointer<UInt8>) -> Int {
            var lo = 0, hi = b.count
            while lo < hi, b[lo] == 0x20 { lo += 1 }
            while hi > lo, b[hi - 1] == 0x20 { hi -= 1 }
            return hi - lo
        }
        if !span.escaped { return trimmedCount(UnsafeBufferPointer(rebasing: line[span.start..<span.end])) == Int(key.count) }
        scratch.removeAll()
        JSONScanner.unescape(line, span, into: scratch)
        return scratch.withUnsafeBufferPointer { trimmedCount($0) } == Int(key.count)
    }

    /// The routing hashes of a WhatsApp record whose app, contact and conversation id are set.
    @inline(__always)
    func hashKeys(_ r: inout DecodedRecord) {
        r.contactHash = withBytes(r.app) { app in withBytes(r.contact) { RoutingHash.contact(app: app, contact: $0) } }
        if !r.conversationID.isEmpty {
            r.keyHash = withBytes(r.conversationID) { RoutingHash.conversation(contactHash: r.contactHash, id: $0) }
        }
    }

    /// Identity with every space removed, then one leading `+` removed.
    mutating func normalisedContact(_ span: StringSpan?, _ line: UnsafeBufferPointer<UInt8>) -> ByteRange {
        guard let span else { return .empty }
        if !span.escaped {
            // Common case, no escapes and no spaces: copy the bytes after one leading '+'.
            let leadingPlus = span.count > 0 && line[span.start] == 0x2B
            let raw = UnsafeBufferPointer(rebasing: line[(span.start + (leadingPlus ? 1 : 0))..<span.end])
            var spaced = false
            for b in raw where b == 0x20 { spaced = true; break }
            if !spaced {
                let start = arena.count
                arena.append(raw)
                return ByteRange(start: Int32(start), count: Int32(raw.count))
            }
        }
        scratch.removeAll()
        JSONScanner.unescape(line, span, into: scratch)
        let start = arena.count
        scratch.withUnsafeBufferPointer { Self.appendContactKey($0, to: arena) }
        return ByteRange(start: Int32(start), count: Int32(arena.count - start))
    }

    /// Appends the contact key of an (unescaped) identity: every space removed, then one
    /// leading `+`. The one implementation of the rule (the `status` query uses it too).
    public static func appendContactKey(_ identity: UnsafeBufferPointer<UInt8>, to arena: ByteArena) {
        arena.reserve(identity.count)
        var out = arena.end
        var first = true
        for b in identity where b != 0x20 {
            if first {
                first = false
                if b == 0x2B { continue }
            }
            out.pointee = b
            out += 1
        }
        arena.commit(out - arena.end)
    }

    func copy(_ span: StringSpan, _ line: UnsafeBufferPointer<UInt8>) -> ByteRange {
        let start = arena.count
        JSONScanner.unescape(line, span, into: arena)
        return ByteRange(start: Int32(start), count: Int32(arena.count - start))
    }

    static func status(of bytes: UnsafeBufferPointer<UInt8>) -> ReceiptStatus {
        func eq(_ literal: StaticString) -> Bool { equals(bytes, literal) }
        switch bytes.count {
        case 9: return eq("DELIVERED") ? .delivered : .other
        case 4: return eq("READ") ? .read : .other
        case 17: return eq("QUEUED_ON_CHANNEL") ? .queuedOnChannel : eq("SWITCHING_CHANNEL") ? .switchingChannel : .other
        case 6: return eq("FAILED") ? .failed : .other
        default: return .other
        }
    }

    // MARK: metadata

    /// Reads `message_metadata` and then `channel_metadata` as one ordered list of keys
    /// (SPEC section 2): a bad field gives nothing (and `bad_metadata`), the other still counts.
    private mutating func readMetadata(_ message: MetadataValue, _ channel: MetadataValue, _ line: UnsafeBufferPointer<UInt8>,
                                       into r: inout DecodedRecord) {
        if case .absent = channel {
            // The common case, one field: no second source to merge.
            let first = pricingSlots(message, line, scratch, &r)
            takePricing(first.slots, first.buffer, into: &r)
            return
        }
        let first = pricingSlots(message, line, scratch, &r)
        let second = pricingSlots(channel, line, scratch2, &r)
        takePricing(first.slots, first.buffer, then: second.slots, second.buffer, into: &r)
    }

    /// The pricing keys of one metadata field, and the buffer their spans point into (the
    /// line, or `unescaped` holding the field's string). Empty slots when it gives nothing.
    private mutating func pricingSlots(_ meta: MetadataValue, _ line: UnsafeBufferPointer<UInt8>, _ unescaped: ByteArena,
                                       _ r: inout DecodedRecord) -> (slots: PricingKey.Slots, buffer: UnsafeBufferPointer<UInt8>) {
        switch meta {
        case .absent, .null:
            return (PricingKey.Slots(), line)
        case .other:
            r.badMetadata = true
            return (PricingKey.Slots(), line)
        case .object(let start, let end):
            var s = JSONScanner(UnsafeBufferPointer(rebasing: line[start..<end]))
            // Offsets from the object's start: rebase them on the line.
            guard let found = readPricing(&s) else { r.badMetadata = true; return (PricingKey.Slots(), line) }
            return (found, UnsafeBufferPointer(rebasing: line[start..<end]))
        case .string(let span):
            if span.count == 0 { return (PricingKey.Slots(), line) }
            if let found = Self.plainPricing(line, span) { return (found, line) }
            unescaped.removeAll()
            JSONScanner.unescape(line, span, into: unescaped)
            let buffer = UnsafeBufferPointer(start: UnsafePointer(unescaped.base), count: unescaped.count)
            var s = JSONScanner(buffer)
            s.skipWhitespace()
            if s.scanLiteral("null") {
                s.skipWhitespace()
                if s.atEnd { return (PricingKey.Slots(), line) }
                r.badMetadata = true
                return (PricingKey.Slots(), line)
            }
            guard s.peek() == 0x7B, let found = readPricing(&s), { s.skipWhitespace(); return s.atEnd }() else {
                r.badMetadata = true
                return (PricingKey.Slots(), line)
            }
            return (found, buffer)
        }
    }

    /// Reads the pricing keys of the object at the scanner (case-insensitive keys; on a
    /// collision the all-lower-case spelling wins, else the first in the object).
    private func readPricing(_ s: inout JSONScanner) -> PricingKey.Slots? {
        var found = PricingKey.Slots()
        let ok = s.scanObject { s, key in
            let valueStart = s.pos
            let value: StringSpan? = s.peek() == 0x22 ? s.scanString() : nil
            if value == nil {
                s.pos = valueStart
                guard s.skipValue() else { return false }
            }
            if let (index, exact) = PricingKey.match(s.bytes, key) {
                found[index].offer(value, exact: exact)
            }
            return true
        }
        return ok ? found : nil
    }

    /// The metadata string as Sinch writes it, `{\"key\":\"value\",...}`: string values and
    /// no escape but the quotes, read straight from the line without unescaping it first.
    /// `nil` for anything else (then the string is unescaped and parsed as JSON). What it
    /// accepts is a subset of what that parse accepts, with the same keys and values.
    @inline(__always)
    static func plainPricing(_ line: UnsafeBufferPointer<UInt8>, _ span: StringSpan) -> PricingKey.Slots? {
        let end = span.end
        var p = span.start
        /// `\"…\"` at `p`: the span between (no backslash inside).
        func quoted() -> StringSpan? {
            guard p &+ 1 < end, line[p] == 0x5C, line[p &+ 1] == 0x22 else { return nil }
            let start = p &+ 2
            let close = JSONScanner.firstBackslash(line, from: start, to: end)
            guard close &+ 1 < end, line[close &+ 1] == 0x22 else { return nil }
            p = close &+ 2
            return StringSpan(start: start, end: close, escaped: false)
        }
        guard p < end, line[p] == 0x7B else { return nil }
        p &+= 1
        var found = PricingKey.Slots()
        if p < end, line[p] == 0x7D { return p &+ 1 == end ? found : nil }
        while true {
            guard let key = quoted(), p < end, line[p] == 0x3A else { return nil }
            p &+= 1
            guard let value = quoted(), p < end else { return nil }
            if let (index, exact) = PricingKey.match(line, key) {
                found[index].offer(value, exact: exact)
            }
            let c = line[p]
            p &+= 1
            if c == 0x2C { continue }
            return c == 0x7D && p == end ? found : nil
        }
    }

    /// Fills the record's pricing fields from the chosen occurrences (spans in `buffer`),
    /// then from those of a second field (spans in `laterBuffer`) for meanings still empty.
    mutating func takePricing(_ found: PricingKey.Slots, _ buffer: UnsafeBufferPointer<UInt8>,
                              then later: PricingKey.Slots? = nil, _ laterBuffer: UnsafeBufferPointer<UInt8>? = nil,
                              into r: inout DecodedRecord) {
        /// The first non-empty value of key `first`, else of key `second`; then the same in
        /// the later field.
        func pick(_ first: Int, _ second: Int? = nil) -> ByteRange {
            if let span = found[first].value, span.count > 0 { return copy(span, buffer) }
            if let second, let span = found[second].value, span.count > 0 { return copy(span, buffer) }
            if let later, let laterBuffer {
                if let span = later[first].value, span.count > 0 { return copy(span, laterBuffer) }
                if let second, let span = later[second].value, span.count > 0 { return copy(span, laterBuffer) }
            }
            return .empty
        }
        r.conversationID = pick(PricingKey.whatsappConversationID, PricingKey.conversationID)
        r.category = upperCased(pick(PricingKey.pricingCategory, PricingKey.category))
        let model = pick(PricingKey.pricingModel)
        r.model = withBytes(model) { b -> PricingModel? in
            if Self.equalsFolded(b, "cbp") { return .cbp }
            if Self.equalsFolded(b, "pmp") { return .pmp }
            return nil
        }
        let type = upperCased(pick(PricingKey.pricingType, PricingKey.type))
        r.hasPricing = !r.conversationID.isEmpty || !r.category.isEmpty || r.model != nil || !type.isEmpty
        r.freeEntryPoint = withBytes(type) { Self.equals($0, "FREE_ENTRY_POINT") }
            || withBytes(r.category) { Self.equals($0, "FREE_ENTRY_POINT") || Self.equals($0, "REFERRAL_CONVERSION") }
    }

    /// Upper-cases a range in place (ASCII fast path, eight bytes at a time; full Unicode
    /// mapping otherwise).
    mutating func upperCased(_ range: ByteRange) -> ByteRange {
        if Self.upperCaseASCII(arena.base + Int(range.start), count: Int(range.count)) { return range }
        let upper = Array(string(range).uppercased().utf8)
        let start = arena.count
        upper.withUnsafeBufferPointer { arena.append($0) }
        return ByteRange(start: Int32(start), count: Int32(upper.count))
    }

    /// Upper-cases `count` ASCII bytes at `p` in place; false (some bytes possibly done) at
    /// the first non-ASCII byte.
    static func upperCaseASCII(_ p: UnsafeMutablePointer<UInt8>, count: Int) -> Bool {
        let high: UInt64 = 0x8080_8080_8080_8080
        var i = 0
        while i + 8 <= count {
            let raw = UnsafeMutableRawPointer(p + i)
            let w = raw.loadUnaligned(as: UInt64.self)
            guard w & high == 0 else { return false }
            // Per byte b < 0x80 (no carries between bytes): b + 0x1F has its high bit from
            // 0x61 ("a") on, b + 0x05 from 0x7B (after "z") on; the high bit of each lower-case
            // letter, moved down to 0x20, is what it loses.
            let lower = (w &+ 0x1F1F_1F1F_1F1F_1F1F) & ~(w &+ 0x0505_0505_0505_0505) & high
            if lower != 0 { raw.storeBytes(of: w &- (lower >> 2), as: UInt64.self) }
            i += 8
        }
        while i < count {
            let b = p[i]
            if b >= 0x80 { return false }
            if b >= 0x61, b <= 0x7A { p[i] = b - 0x20 }
            i += 1
        }
        return true
    }

    static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        bytes.count == literal.utf8CodeUnitCount
            && JSONScanner.sameBytes(UnsafeRawPointer(bytes.baseAddress!), UnsafeRawPointer(literal.utf8Start), bytes.count)
    }

    static func equalsFolded(_ bytes: UnsafeBufferPointer<UInt8>, _ lower: StaticString) -> Bool {
        bytes.count == lower.utf8CodeUnitCount
            && JSONScanner.foldedSameBytes(UnsafeRawPointer(bytes.baseAddress!), UnsafeRawPointer(lower.utf8Start), bytes.count).match
    }
}

/// The pricing keys of `message_metadata`, matched case-insensitively.
enum PricingKey {
    static let names: [StaticString] = ["whatsapp_conversation_id", "conversation_id", "pricing_category", "category",
                                        "pricing_model", "pricing_type", "type"]
    static let whatsappConversationID = 0, conversationID = 1, pricingCategory = 2, category = 3
    static let pricingModel = 4, pricingType = 5, type = 6

    /// The occurrence chosen for one key: the first exact (lower-case) spelling, else the first.
    struct Slot {
        var value: StringSpan?
        var seen = false
        var seenExact = false

        mutating func offer(_ v: StringSpan?, exact: Bool) {
            if exact {
                if !seenExact { seenExact = true; value = v }
            } else if !seen, !seenExact {
                value = v
            }
            seen = true
        }
    }

    /// Fixed storage for the seven slots (no allocation per record).
    struct Slots {
        private var storage = (Slot(), Slot(), Slot(), Slot(), Slot(), Slot(), Slot())
        subscript(i: Int) -> Slot {
            get { withUnsafeBytes(of: storage) { $0.load(fromByteOffset: i * MemoryLayout<Slot>.stride, as: Slot.self) } }
            set { withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: newValue, toByteOffset: i * MemoryLayout<Slot>.stride, as: Slot.self) } }
        }
    }

    /// The key index a key matches case-insensitively, and whether it is the exact spelling.
    static func match(_ bytes: UnsafeBufferPointer<UInt8>, _ key: StringSpan) -> (Int, Bool)? {
        if key.escaped {
            var k: [UInt8] = []
            JSONScanner.unescape(bytes, key, into: &k)
            return k.withUnsafeBufferPointer { match($0, StringSpan(start: 0, end: $0.count, escaped: false)) }
        }
        // The seven names have seven different lengths: the length picks the one candidate.
        let i: Int
        switch key.count {
        case 24: i = whatsappConversationID
        case 15: i = conversationID
        case 16: i = pricingCategory
        case 8: i = category
        case 13: i = pricingModel
        case 12: i = pricingType
        case 4: i = type
        default: return nil
        }
        let folded = JSONScanner.foldedSameBytes(UnsafeRawPointer(bytes.baseAddress! + key.start), UnsafeRawPointer(names[i].utf8Start), key.count)
        return folded.match ? (i, folded.exact) : nil
    }
}
