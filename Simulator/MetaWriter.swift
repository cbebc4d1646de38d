import WindowCore

/// Which input format `generate` writes.
enum InputFormat: String {
    case sinch, meta, mixed
}

/// Writes the stream as lines: Sinch callbacks (`LineWriter`) and Meta WhatsApp Cloud API
/// webhook bodies, which batch several consecutive items in one body as Meta does (a run of
/// changes, each with its messages and then its statuses, so the order in which the
/// processor takes the items is the arrival order).
struct StreamWriter {
    let format: InputFormat
    // Internal, not private: `StreamWriter+Identity.swift` writes into the same body.
    var sinch: LineWriter
    var rng: SimRandom
    var body = MetaBody()
    /// Items the open body may still take.
    var room = 0
    var out: [UInt8] = []
    /// Every record as the model must see it, in line order: with `--identities bsuid|mixed`
    /// the ids narrowed to what each line carries, and the `contacts[]` links.
    var forModel: [SimRecord] = []

    init(format: InputFormat, seed: UInt64) {
        self.format = format
        sinch = LineWriter(seed: seed)
        rng = SimRandom(seed: seed &+ 0x5EED_0019)
    }

    /// Whether `r` is written as Meta: every WhatsApp record with `--format meta`; with
    /// `mixed`, those of every other contact (a business is on one platform or the other).
    func isMeta(_ r: SimRecord) -> Bool {
        guard r.channel == "WHATSAPP" else { return false }
        switch format {
        case .sinch: return false
        case .meta: return true
        case .mixed:
            var h = FNV1a()
            for b in r.number.utf8 { h.add(Int64(b)) }
            return h.mixed & 1 == 1
        }
    }

    /// What a Meta body carries of `r`: whole Unix seconds and no contact_id. Applied to the
    /// records before the model sees them, so the ground truth is of what is written.
    func asWritten(_ r: SimRecord) -> SimRecord {
        guard isMeta(r) else { return r }
        var m = r
        m.time = r.time - ((r.time % 1_000) + 1_000) % 1_000
        m.contactID = ""
        return m
    }

    mutating func write(_ r: SimRecord) {
        guard isMeta(r) else {
            flush()
            out += sinch.line(r)
            out.append(0x0A)
            forModel.append(r)
            return
        }
        if r.ids != nil {
            writeIdentity(r)
            return
        }
        forModel.append(r)
        if case .other = r.kind {
            flush()
            // A change of another field: skipped, like Sinch's other callbacks.
            out += Array(("{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"102290129340398\",\"time\":\(r.time / 1_000),"
                + "\"changes\":[{\"value\":{\"event\":\"APPROVED\",\"message_template_id\":594425479261596,\"message_template_name\":\"hello_world\","
                + "\"message_template_language\":\"en_US\",\"reason\":\"NONE\"},\"field\":\"message_template_status_update\"}]}]}\n").utf8)
            return
        }
        switch r.malformed {
        case nil, "missing_field", "bad_timestamp", "missing_contact":
            add(r)
        case "line_too_long":
            flush()
            add(r)
            out += Array(body.text(padding: 1 << 20).utf8) + [0x0A]
            body = MetaBody()
            room = 0
        case "invalid_json":
            flush()
            add(r)
            out += Array(body.text().dropLast(2).utf8) + [0x0A]
            body = MetaBody()
            room = 0
        default:
            flush()
            out += sinch.line(r)
            out.append(0x0A)
        }
    }

    /// Writes the open body, if any.
    mutating func flush() {
        guard !body.changes.isEmpty else { return }
        out += Array(body.text().utf8) + [0x0A]
        body = MetaBody()
        room = 0
    }

    mutating func add(_ r: SimRecord) {
        let isStatus: Bool
        if case .receipt = r.kind { isStatus = true } else { isStatus = false }
        if room == 0 {
            flush()
            room = Int(rng.int(1...6))
        }
        let item = itemText(r, status: isStatus)
        // A message after a status of the same change would be taken before it: new change.
        if let last = body.changes.last, !last.identity, last.app == r.app, isStatus || last.statuses.isEmpty {
            body.append(item, status: isStatus)
        } else {
            body.changes.append(MetaBody.Change(app: r.app, newEntry: body.changes.isEmpty || rng.chance(0.5)))
            body.append(item, status: isStatus)
        }
        room -= 1
    }

    mutating func timestamp(_ ms: Int64) -> String {
        let s = String(ms / 1_000)
        return rng.chance(0.2) ? s : "\"\(s)\""
    }

    mutating func itemText(_ r: SimRecord, status isStatus: Bool) -> String {
        let q = LineWriter.quote
        var fields: [String] = []
        let contact = rng.chance(0.1) ? "+" + r.number : r.number
        switch r.malformed {
        case "missing_field": break
        case "bad_timestamp": fields.append("\"timestamp\":\"2024-13-45T25:61:00Z\"")
        default: fields.append("\"timestamp\":\(timestamp(r.time))")
        }
        let withContact = r.malformed != "missing_contact"
        guard isStatus else {
            var head = withContact ? ["\"from\":\(q(contact))"] : []
            head.append("\"id\":\"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=\"")
            let body: String
            if case .inbound(true) = r.kind {
                body = "\"system\":{\"body\":\"User changed from \(r.number) to \(r.number)\",\"wa_id\":\(q(r.number)),\"type\":\"user_changed_number\"},\"type\":\"system\""
            } else if rng.chance(0.2) {
                body = "\"type\":\"text\",\"text\":{\"body\":\"Does it come in another color?\"},\"referral\":{\"source_url\":\"https://fb.me/3cr4Wqqkv\","
                    + "\"source_id\":\"120226305854810726\",\"source_type\":\"ad\",\"body\":\"Chat with us\",\"headline\":\"Chat with Kyle's Kites!\","
                    + "\"media_type\":\"image\",\"ctwa_clid\":\"Aff-n8ZTODiE79d22KtAwQKj9e_mIEOOj27vDVwFjN80dp4_0NiNhEgpGo0AHemvuSoifXaytfTzcchptiErTKCqTrJ5nW1h7IHYeYymGb5K5J5iXzYa8dqgqhzo3Zi2\"}"
            } else {
                body = "\"type\":\"text\",\"text\":{\"body\":\"Hi, where is my order?\"}"
            }
            return "{" + (head + fields).joined(separator: ",") + "," + body + "}"
        }
        guard case .receipt(let status) = r.kind else { return "{}" }
        var head = ["\"id\":\"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA\"",
                    "\"status\":\(q(status == "QUEUED_ON_CHANNEL" ? "sent" : status.lowercased()))"]
        head += fields
        if withContact { head.append("\"recipient_id\":\(q(contact))") }
        head += pricingFields(r)
        if status == "FAILED" {
            head.append("\"errors\":[{\"code\":131026,\"title\":\"Message undeliverable\",\"message\":\"Message undeliverable\",\"error_data\":{\"details\":\"Message Undeliverable.\"}}]")
        }
        return "{" + head.joined(separator: ",") + "}"
    }
}

extension StreamWriter {
    /// A status's `conversation` and `pricing` fields (or the malformed ones of bad metadata).
    mutating func pricingFields(_ r: SimRecord) -> [String] {
        let q = LineWriter.quote
        var head: [String] = []
        if r.badMetadata {
            head.append("\"conversation\":\"CONVERSATION_ID\"")
            head.append("\"pricing\":42")
        } else if let p = r.pricing {
            var pricing = ["\"billable\":\(p.type?.uppercased() == "REGULAR" ? "true" : "false")"]
            if let m = p.model { pricing.append("\"pricing_model\":\(q(m))") }
            var origin: String?
            if let c = p.category {
                if p.conversationID != nil, rng.chance(0.3) { origin = c.lowercased() } else { pricing.append("\"category\":\(q(c.lowercased()))") }
            }
            if let t = p.type { pricing.append("\"type\":\(q(t.lowercased()))") }
            if let id = p.conversationID {
                var conversation = ["\"id\":\(q(id))", "\"expiration_timestamp\":\"\(r.time / 1_000 + 86_400)\""]
                if let origin { conversation.append("\"origin\":{\"type\":\(q(origin))}") }
                head.append("\"conversation\":{" + conversation.joined(separator: ",") + "}")
            }
            head.append("\"pricing\":{" + pricing.joined(separator: ",") + "}")
        }
        return head
    }
}

/// A Meta webhook body being filled: changes in order, grouped into entries.
struct MetaBody {
    struct Change {
        var app: String
        var newEntry: Bool
        var messages: [String] = []
        var statuses: [String] = []
        /// `--identities bsuid|mixed`: the change's own `contacts[]` (JSON array text or nil for
        /// none), its field, its `calls[]`, and what later items must share to join it.
        var identity = false
        var contacts: String?
        var field = "messages"
        var calls: [String] = []
        var joinKey = ""
        var contactsEntry: StreamWriter.Contact?
    }

    var changes: [Change] = []

    mutating func append(_ item: String, call: Bool) {
        changes[changes.count - 1].calls.append(item)
    }

    mutating func append(_ item: String, status: Bool) {
        if status { changes[changes.count - 1].statuses.append(item) } else { changes[changes.count - 1].messages.append(item) }
    }

    func text(padding: Int = 0) -> String {
        var entries: [[String]] = []
        for c in changes {
            if c.identity {
                let change = c.identityText
                if c.newEntry || entries.isEmpty { entries.append([change]) } else { entries[entries.count - 1].append(change) }
                continue
            }
            var value = "\"messaging_product\":\"whatsapp\",\"metadata\":{\"display_phone_number\":\"15550783881\",\"phone_number_id\":\(LineWriter.quote(c.app))}"
            if !c.messages.isEmpty {
                // A message without `from` takes the ids of a change's only contacts[] entry
                // (SPEC section 12): where one lacks it (a missing_contact fault), the entry
                // names no id, as in Meta's bodies without a sender.
                let waID = c.messages.allSatisfy { $0.contains("\"from\":") } ? ",\"wa_id\":\"16505551234\"" : ""
                value += ",\"contacts\":[{\"profile\":{\"name\":\"Sheena Nelson\"}" + waID + "}],\"messages\":[" + c.messages.joined(separator: ",") + "]"
            }
            if !c.statuses.isEmpty { value += ",\"statuses\":[" + c.statuses.joined(separator: ",") + "]" }
            let change = "{\"value\":{" + value + "},\"field\":\"messages\"}"
            if c.newEntry || entries.isEmpty { entries.append([change]) } else { entries[entries.count - 1].append(change) }
        }
        let pad = padding > 0 ? ",\"padding\":\"" + String(repeating: "a", count: padding) + "\"" : ""
        let list = entries.map { "{\"id\":\"102290129340398\",\"changes\":[" + $0.joined(separator: ",") + "]}" }
        return "{\"object\":\"whatsapp_business_account\",\"entry\":[" + list.joined(separator: ",") + "]" + pad + "}"
    }
}

extension MetaBody.Change {
    /// A change of the identity stream: contacts first (as Meta writes them), then its items.
    var identityText: String {
        var value = "\"messaging_product\":\"whatsapp\",\"metadata\":{\"display_phone_number\":\"15550783881\",\"phone_number_id\":\(LineWriter.quote(app))}"
        if let contacts { value += ",\"contacts\":" + contacts }
        if !messages.isEmpty { value += ",\"messages\":[" + messages.joined(separator: ",") + "]" }
        if !statuses.isEmpty { value += ",\"statuses\":[" + statuses.joined(separator: ",") + "]" }
        if !calls.isEmpty { value += ",\"calls\":[" + calls.joined(separator: ",") + "]" }
        return "{\"value\":{" + value + "},\"field\":\"" + field + "\"}"
    }
}
