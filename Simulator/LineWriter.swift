import Foundation
import WindowCore

/// Writes a `SimRecord` as a Sinch callback line, varying the harmless details: where the
/// event time comes from, fraction digits, offsets, identity spelling, metadata as a string
/// or an object. Malformed records become lines of the diagnostic they ask for.
struct LineWriter {
    private var rng: SimRandom

    init(seed: UInt64) { rng = SimRandom(seed: seed &+ 0xA5A5) }

    /// RFC 3339 with 0, 3, 6 or 9 fraction digits and sometimes an offset; the same instant
    /// once truncated to milliseconds.
    mutating func time(_ ms: Int64) -> String {
        let offsetMinutes: Int64 = rng.chance(0.3) ? rng.pick([-300, -30, 60, 120, 330, 585]) : 0
        var text = Timestamp.format(ms + offsetMinutes * 60_000)  // local wall time, "…SS.mmmZ"
        text.removeLast()
        let digits = rng.pick([0, 3, 6, 9])
        if digits == 0 {
            // Whole seconds only keep the instant when the milliseconds are zero.
            if ms % 1_000 == 0 { text.removeLast(4) }
        } else if digits > 3 {
            text += String(rng.int(0...999_999)).leftPad(6).prefix(digits - 3)
        }
        if offsetMinutes == 0 { return text + (rng.chance(0.1) ? "z" : "Z") }
        let sign = offsetMinutes < 0 ? "-" : "+"
        let m = abs(offsetMinutes)
        return text + sign + String(m / 60).leftPad(2) + ":" + String(m % 60).leftPad(2)
    }

    static func quote(_ s: String) -> String {
        var out: [UInt8] = []
        EventEncoder.appendString(s, &out)
        return String(decoding: out, as: UTF8.self)
    }

    mutating func line(_ r: SimRecord) -> [UInt8] {
        if let kind = r.malformed { return malformedLine(r, kind) }
        return Array(wellFormed(r).utf8)
    }

    private mutating func wellFormed(_ r: SimRecord) -> String {
        let q = Self.quote
        let t = time(r.time)
        var head = "{\"app_id\":\(q(r.app)),"
        // Event time: usually event_time; sometimes only accepted_time or message.accept_time.
        let source = rng.next() % 10
        var acceptTime = ""
        switch source {
        case 0: head += "\"accepted_time\":\(q(t)),"
        case 1:
            if case .inbound = r.kind { acceptTime = ",\"accept_time\":\(q(t))"; head += "\"event_time\":\"\"," } else {
                head += "\"accepted_time\":\(q(t)),"
            }
        default: head += "\"accepted_time\":\(q(time(r.time + 700))),\"event_time\":\(q(t)),"
        }
        head += "\"project_id\":\"c36f3d3d-1513-2edd-ae42-11995557ff61\","
        let identity = "\"channel_identity\":{\"channel\":\(q(r.channel)),\"identity\":\(q(r.identity)),\"app_id\":\"\"}"
        let contact = r.contactID.isEmpty && rng.chance(0.5) ? "" : ",\"contact_id\":\(q(r.contactID))"
        switch r.kind {
        case .other(let key):
            return "{\"app_id\":\(q(r.app)),\"accepted_time\":\(q(t)),\"\(key)\":{\"contact_id\":\(q(r.contactID))}}"
        case .inbound(let injected):
            let inj = injected ? ",\"injected\":true" : (rng.chance(0.1) ? ",\"injected\":false" : "")
            return head + "\"message\":{\"id\":\"01HXIN\",\"direction\":\"TO_APP\",\"contact_message\":{\"text_message\":{\"text\":\"Hi, where is my order?\"}},\(identity)\(contact)\(inj)\(acceptTime)},\"message_metadata\":\"\"}"
        case .receipt(let status):
            return head + "\"message_delivery_report\":{\"message_id\":\"01HXOUT\",\"status\":\(q(status)),\(identity)\(contact),\"processing_mode\":\"CONVERSATION\"},\"message_metadata\":\(metadata(r))}"
        }
    }

    private mutating func metadata(_ r: SimRecord) -> String {
        if r.badMetadata { return rng.pick(["\"not json\"", "\"[1,2]\"", "42"]) }
        guard let p = r.pricing else { return rng.pick(["\"\"", "null"]) }
        var fields: [String] = []
        let q = Self.quote
        if let c = p.category { fields.append("\"\(rng.chance(0.2) ? "category" : "pricing_category")\":\(q(c))") }
        if let id = p.conversationID { fields.append("\"\(rng.chance(0.1) ? "WhatsApp_Conversation_Id" : "whatsapp_conversation_id")\":\(q(id))") }
        if let m = p.model { fields.append("\"pricing_model\":\(q(m))") }
        if let t = p.type { fields.append("\"\(rng.chance(0.2) ? "type" : "pricing_type")\":\(q(t))") }
        let object = "{" + fields.joined(separator: ",") + "}"
        return rng.chance(0.8) ? Self.quote(object) : object
    }

    private mutating func malformedLine(_ r: SimRecord, _ kind: String) -> [UInt8] {
        var clean = r
        clean.malformed = nil
        let good = wellFormed(clean)
        switch kind {
        case "invalid_json": return Array(good.dropLast(3).utf8)
        case "invalid_utf8":
            var b = Array(good.utf8)
            b.insert(0xFF, at: b.count / 2)
            return b
        case "unknown_callback": return Array("{\"app_id\":\(Self.quote(r.app)),\"surprise\":{}}".utf8)
        case "line_too_long":
            return Array(good.dropLast().utf8) + Array(",\"padding\":\"".utf8) + Array(repeating: 0x61, count: 1 << 20) + [0x22, 0x7D]
        case "missing_field": return Array(good.replacingFirst("\"app_id\":", with: "\"app\":").utf8)
        case "bad_timestamp":
            return Array("{\"app_id\":\"A\",\"event_time\":\"2024-13-45T25:61:00Z\",\"message\":{\"channel_identity\":{\"channel\":\"WHATSAPP\",\"identity\":\"1\"}}}".utf8)
        case "missing_contact":
            return Array("{\"app_id\":\"A\",\"event_time\":\(Self.quote(time(r.time))),\"message\":{\"channel_identity\":{\"channel\":\"WHATSAPP\",\"identity\":\" + \"},\"contact_id\":\"\"}}".utf8)
        default: return Array("   ".utf8)  // blank
        }
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = range(of: target) else { return self }
        return replacingCharacters(in: r, with: replacement)
    }
}
