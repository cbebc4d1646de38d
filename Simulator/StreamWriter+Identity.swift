import WindowCore

/// Meta bodies of the `--identities bsuid|mixed` stream, in the shapes Meta documents for
/// business-scoped user ids: `from` absent or `""` beside `from_user_id`, statuses with only
/// `recipient_user_id`, `contacts[]` entries with `wa_id` and `user_id` (and parent ids, which
/// are ignored), items that take their ids from the change's only `contacts[]` entry, group
/// messages and statuses, and `calls` changes. A change holds the items of one person with one
/// set of ids, and a body several changes (so several people). What each item carries, after
/// these variations, is what the model gets (`forModel`).
extension StreamWriter {
    mutating func writeIdentity(_ r: SimRecord) {
        switch r.malformed {
        case nil: break
        case "missing_field", "bad_timestamp", "missing_contact":
            // A change of its own, without contacts[] (whose ids a message without `from` would take).
            var plain = r
            plain.ids = nil
            openChange(plain, joinKey: "", contacts: nil, field: "messages")
            let isStatus: Bool
            if case .receipt = r.kind { isStatus = true } else { isStatus = false }
            body.append(itemText(plain, status: isStatus), status: isStatus)
            forModel.append(r)
            return
        default:
            // Whole-line faults (and Sinch-only ones) as in the phone stream.
            var plain = r
            plain.ids = nil
            write(plain)
            return
        }
        guard let ids = r.ids else { return }
        var m = r
        m.writtenAsMeta = true
        let isStatus: Bool
        if case .receipt = r.kind { isStatus = true } else { isStatus = false }
        let field = r.call == nil ? "messages" : "calls"
        let joinKey = [r.app, r.number, field, ids.phone ?? "-", ids.bsuid ?? "-", ids.group ?? "-", r.isSystemMessage ? "s" : ""]
            .joined(separator: "\u{1F}")
        let joins = room > 0 && body.changes.last.map { $0.identity && $0.joinKey == joinKey && !$0.joinKey.isEmpty
            && (isStatus || $0.statuses.isEmpty) } ?? false
        var contacts: Contact?
        if joins {
            contacts = body.changes.last?.contactsEntry
            room -= 1
        } else {
            // contacts[]: none for system messages and group statuses; for the rest usually one entry.
            let isGroupStatus = isStatus && ids.group != nil
            if !r.isSystemMessage, !isGroupStatus, rng.chance(0.85) {
                contacts = Contact(phone: ids.phone, bsuid: ids.bsuid)
            }
            let text = contacts.map { contactsText($0) }
            openChange(r, joinKey: joinKey, contacts: text, field: field)
            body.changes[body.changes.count - 1].contactsEntry = contacts
            // A contacts[] link is learned before the change's first item (message, call or status).
            if let c = contacts, let p = c.phone, let b = c.bsuid {
                m.contactsLink = SimRecord.Link(phone: p, bsuid: b)
            }
        }
        // What the item writes of its ids.
        var phone = ids.phone, bsuid = ids.bsuid
        var fallback = false
        if ids.group != nil, isStatus {
            phone = nil; bsuid = nil
        } else if field == "messages", !isStatus, ids.group == nil, !r.isSystemMessage, contacts != nil, rng.chance(0.15) {
            fallback = true  // neither from nor from_user_id: the only contacts[] entry's ids
        } else if phone != nil, bsuid != nil, rng.chance(0.25) {
            if rng.chance(0.5) { phone = nil } else { bsuid = nil }
        }
        m.ids = SimRecord.Ids(phone: fallback ? contacts?.phone : phone, bsuid: fallback ? contacts?.bsuid : bsuid, group: ids.group)
        let item: String
        if r.call != nil {
            item = callText(r, phone: phone, bsuid: bsuid)
            body.append(item, call: true)
        } else if isStatus {
            item = statusText(r, phone: phone, bsuid: bsuid, group: ids.group)
            body.append(item, status: true)
        } else {
            item = messageText(r, phone: fallback ? nil : phone, bsuid: fallback ? nil : bsuid, group: ids.group)
            body.append(item, status: false)
        }
        forModel.append(m)
    }

    struct Contact {
        var phone: String?
        var bsuid: String?
    }

    private mutating func openChange(_ r: SimRecord, joinKey: String, contacts: String?, field: String) {
        if room <= 0 {
            flush()
            room = Int(rng.int(1...6))
        }
        var c = MetaBody.Change(app: r.app, newEntry: body.changes.isEmpty || rng.chance(0.5))
        c.identity = true
        c.joinKey = joinKey
        c.contacts = contacts
        c.field = field
        body.changes.append(c)
        room -= 1
    }

    private mutating func contactsText(_ c: Contact) -> String {
        let q = LineWriter.quote
        var fields = [rng.chance(0.5) ? "\"profile\":{\"name\":\"Kerry Fisher\",\"username\":\"@kfisher\"}" : "\"profile\":{\"name\":\"Sheena Nelson\"}"]
        if let p = c.phone { fields.append("\"wa_id\":\(q(p))") } else if rng.chance(0.5) { fields.append("\"wa_id\":\"\"") }
        if let b = c.bsuid {
            fields.append("\"user_id\":\(q(b))")
            if rng.chance(0.3) { fields.append("\"parent_user_id\":\"US.ENT.11815799212886844830\"") }
        }
        return "[{" + fields.joined(separator: ",") + "}]"
    }

    /// `from` / `from_user_id` (or the recipient fields) as Meta writes them: an absent phone is
    /// left out or written `""`.
    private mutating func idFields(_ phoneKey: String, _ phone: String?, _ bsuidKey: String, _ bsuid: String?, parent: String) -> [String] {
        let q = LineWriter.quote
        var fields: [String] = []
        if let p = phone { fields.append("\"\(phoneKey)\":\(q(rng.chance(0.1) ? "+" + p : p))") } else if rng.chance(0.5) { fields.append("\"\(phoneKey)\":\"\"") }
        if let b = bsuid {
            fields.append("\"\(bsuidKey)\":\(q(b))")
            if rng.chance(0.2) { fields.append("\"\(parent)\":\"US.ENT.506847293015824\"") }
        }
        return fields
    }

    private mutating func messageText(_ r: SimRecord, phone: String?, bsuid: String?, group: String?) -> String {
        var fields = idFields("from", phone, "from_user_id", bsuid, parent: "from_parent_user_id")
        if let group { fields.append("\"group_id\":\(LineWriter.quote(group))") }
        fields.append("\"id\":\"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=\"")
        fields.append("\"timestamp\":\(timestamp(r.time))")
        if r.isSystemMessage {
            fields.append("\"system\":{\"body\":\"User changed from \(r.number) to \(r.number)\",\"wa_id\":\(LineWriter.quote(r.number)),\"type\":\"user_changed_number\"},\"type\":\"system\"")
        } else {
            fields.append(rng.pick(["\"type\":\"text\",\"text\":{\"body\":\"Hello World\"}",
                                    "\"type\":\"button\",\"button\":{\"payload\":\"callback_data\",\"text\":\"title\"}",
                                    "\"type\":\"reaction\",\"reaction\":{\"message_id\":\"wamid.yzxyzx=\",\"emoji\":\"\\ud83d\\ude2e\"}"]))
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    private mutating func statusText(_ r: SimRecord, phone: String?, bsuid: String?, group: String?) -> String {
        guard case .receipt(let status) = r.kind else { return "{}" }
        let q = LineWriter.quote
        var fields = ["\"id\":\"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA\"",
                      "\"status\":\(q(status == "QUEUED_ON_CHANNEL" ? "sent" : status.lowercased()))",
                      "\"timestamp\":\(timestamp(r.time))"]
        if let group {
            fields.append("\"recipient_id\":\(q(group))")
            fields.append("\"recipient_type\":\"group\"")
        } else {
            fields += idFields("recipient_id", phone, "recipient_user_id", bsuid, parent: "parent_recipient_user_id")
        }
        fields += pricingFields(r)
        return "{" + fields.joined(separator: ",") + "}"
    }

    private mutating func callText(_ r: SimRecord, phone: String?, bsuid: String?) -> String {
        var fields = ["\"id\":\"wacid.ABGGFjFVU2AfAgo6V\""]
        fields += idFields("from", phone, "from_user_id", bsuid, parent: "from_parent_user_id")
        fields.append("\"to\":\"15550783881\"")
        let event: String, direction: String
        switch r.call {
        case .other(let e, let d): event = e; direction = d
        default: event = "connect"; direction = "USER_INITIATED"
        }
        fields.append("\"event\":\(LineWriter.quote(event))")
        fields.append("\"timestamp\":\(timestamp(r.time))")
        fields.append("\"direction\":\(LineWriter.quote(direction))")
        if event == "connect" { fields.append("\"session\":{\"sdp\":\"v=0\",\"sdp_type\":\"offer\"}") }
        return "{" + fields.joined(separator: ",") + "}"
    }
}
