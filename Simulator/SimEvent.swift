import WindowCore  // the event value and encoder, for the bytes only

/// One event the model expects: a window event, with the phone linked to its contact when
/// there is one (SPEC 12), or a `contact_linked`.
enum SimEvent {
    case window(WindowEvent, phone: String?)
    case linked(app: String, contact: String, phone: String, dueAt: Int64)

    /// The NDJSON line. A window event without a phone is `WindowEvent.encoded` as it is (so
    /// phone-only feeds keep their bytes); with one, `"phone":…` goes right after `contact`.
    var encoded: [UInt8] {
        switch self {
        case .window(let e, nil):
            return e.encoded
        case .window(let e, let phone?):
            let line = e.encoded
            let key = Array(",\"contact\":\"".utf8)
            guard let start = Self.find(key, in: line) else { preconditionFailure("no contact in \(String(decoding: line, as: UTF8.self))") }
            var i = start + key.count
            while line[i] != 0x22 { i += line[i] == 0x5C ? 2 : 1 }  // to the closing quote
            return Array(line[...i]) + Array(",\"phone\":\(LineWriter.quote(phone))".utf8) + Array(line[(i + 1)...])
        case .linked(let app, let contact, let phone, let due):
            let q = LineWriter.quote
            // The id the engine uses is its own; verify ignores ids. Stable, 16 hex digits.
            var h = FNV1a()
            for part in [app, contact, "contact_linked", phone] {
                for b in part.utf8 { h.addByte(b) }
                h.addByte(0)
            }
            h.add(due)
            let id = String(h.mixed, radix: 16).leftPad(16)
            return Array(("{\"event\":\"contact_linked\",\"app_id\":\(q(app)),\"contact\":\(q(contact)),\"phone\":\(q(phone)),"
                + "\"due_at\":\"\(Timestamp.format(due))\",\"id\":\"\(id)\"}\n").utf8)
        }
    }

    private static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle {
            return i
        }
        return nil
    }
}
