import Foundation
import Testing
@testable import WindowCore

@Suite struct EventEncoderTests {
    static func event(_ kind: EventKind = .expiring, app: String = "APP", contactID: String = "", category: String = "",
                      id: String = "", lead: Int64 = 3_600_000) -> WindowEvent {
        WindowEvent(event: kind, window: .conversation, pmp: false, app: app, contact: "46", contactID: contactID,
                    category: category, conversationID: id, openedAt: 1_715_850_001_000, expiresAt: 1_715_936_401_000,
                    lead: lead, dueAt: 1_715_932_801_000)
    }

    static func text(_ e: WindowEvent) -> String { String(decoding: e.encoded, as: UTF8.self) }

    @Test func keys_comeInSpecOrderAndEmptyValuesAreOmitted() {
        let line = Self.text(Self.event(contactID: "C1", category: "SERVICE", id: "abc"))
        let keys = ["event", "window", "app_id", "contact", "contact_id", "category", "conversation_id",
                    "opened_at", "expires_at", "remaining_s", "due_at", "id"]
        let positions = keys.map { line.range(of: "\"\($0)\":")?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        let bare = Self.text(Self.event(.opened, app: ""))
        #expect(!bare.contains("app_id") && !bare.contains("contact_id") && !bare.contains("category") && !bare.contains("remaining_s"))
        #expect(line.hasSuffix("}\n"))
    }

    @Test func encodedLine_isValidJSONWithUTCMillisecondTimes() throws {
        let line = Self.text(Self.event(contactID: "quote\" back\\ nl\n ctl\u{01} é"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["contact_id"] as? String == "quote\" back\\ nl\n ctl\u{01} é")
        #expect(object["opened_at"] as? String == "2024-05-16T09:00:01.000Z")
        #expect(object["due_at"] as? String == "2024-05-17T08:00:01.000Z")
        #expect(object["remaining_s"] as? Int == 3_600)
        let id = try #require(object["id"] as? String)
        #expect(id.count == 16 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase })
    }

    @Test func timeFormatting_agreesWithTheParserAcrossTheDateCache() {
        var buffer = ByteBuffer()
        var rng = SplitMix64(seed: 3)
        for _ in 0..<20_000 {
            let ms = Int64(rng.next() % 315_569_520_000_000) - 62_167_219_200_000  // years 0000–9999
            buffer.removeAll()
            Timestamp.append(ms, to: &buffer)
            let text = String(decoding: UnsafeRawBufferPointer(start: buffer.base, count: buffer.count), as: UTF8.self)
            #expect(Timestamp.parse(text) == ms, "\(ms) → \(text)")
        }
    }

    @Test func id_isStableAndDependsOnEveryHashedField() {
        let e = Self.event(id: "a")
        #expect(e.id == Self.event(id: "a").id)
        var variants = [Self.event(id: "b"), Self.event(.expired, id: "a"), Self.event(app: "X", id: "a"), Self.event(id: "a", lead: 1)]
        var moved = e; moved.openedAt += 1; variants.append(moved)
        moved = e; moved.expiresAt += 1; variants.append(moved)
        moved = e; moved.window = .freeEntryPoint; variants.append(moved)
        moved = e; moved.contact = "47"; variants.append(moved)
        for v in variants { #expect(v.id != e.id) }
        moved = e; moved.dueAt += 5; moved.contactID = "other"
        #expect(moved.id == e.id)  // not part of the identity
    }
}

@Suite struct EncoderWordTests {
    /// The hash as specified: the length, then eight bytes per step, then the last 1–7 bytes
    /// as a little-endian word, one byte at a time (no overlapping loads).
    static func referenceHash(_ bytes: [UInt8]) -> UInt64 {
        var h = WordHash()
        h.add(UInt64(bytes.count))
        var i = 0
        while i + 8 <= bytes.count {
            var w: UInt64 = 0
            for k in 0..<8 { w |= UInt64(bytes[i + k]) << UInt64(8 * k) }
            h.add(w)
            i += 8
        }
        if i < bytes.count {
            var w: UInt64 = 0
            for k in i..<bytes.count { w |= UInt64(bytes[k]) << UInt64(8 * (k - i)) }
            h.add(w)
        }
        return h.mixed
    }

    @Test func wordHash_readsEveryLengthLikeTheByteWiseDefinition() {
        var rng = SplitMix64(seed: 11)
        for length in 0...41 {
            for _ in 0..<20 {
                // Bytes before and after the field must not leak into its hash.
                let field = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                let padded = [0xAA, 0xBB] + field + [0xCC, 0xDD]
                let got = padded.withUnsafeBytes { raw -> UInt64 in
                    var h = WordHash()
                    h.add(UnsafeRawBufferPointer(rebasing: raw[2..<(2 + length)]))
                    return h.mixed
                }
                #expect(got == Self.referenceHash(field), "length \(length)")
            }
        }
    }

    @Test func needsEscape_findsASpecialByteAtEveryPositionOfEveryLength() {
        for length in 0...41 {
            let plain = [UInt8](repeating: 0x61, count: length)
            let padded = [0x22] + plain + [0x5C]  // specials just outside must not count
            #expect(!padded.withUnsafeBytes { EventEncoder.needsEscape($0.baseAddress! + 1, length) }, "length \(length)")
            for position in 0..<length {
                for special: UInt8 in [0x22, 0x5C, 0x00, 0x1F] {
                    var bytes = plain
                    bytes[position] = special
                    #expect(bytes.withUnsafeBytes { EventEncoder.needsEscape($0.baseAddress!, length) },
                            "length \(length), byte \(special) at \(position)")
                }
            }
        }
    }

    @Test func dueAt_isWrittenRightWhenItEqualsAnotherTimeOfAnyLength() throws {
        // Times in years 0000–9999 have 24 bytes; times far outside have other lengths.
        let times: [Int64] = [1_715_850_001_000, -62_167_219_200_001, 400_000_000_000_000, 1_715_936_401_000]
        for opened in times {
            for expires in times {
                for due in [opened, expires, 1] {
                    let e = WindowEvent(event: .expired, window: .freeEntryPoint, pmp: false, app: "A", contact: "1",
                                        contactID: "", category: "", conversationID: "", openedAt: opened,
                                        expiresAt: expires, lead: 0, dueAt: due)
                    let object = try #require(try JSONSerialization.jsonObject(with: Data(e.encoded)) as? [String: Any])
                    #expect(object["opened_at"] as? String == Timestamp.format(opened))
                    #expect(object["expires_at"] as? String == Timestamp.format(expires))
                    #expect(object["due_at"] as? String == Timestamp.format(due), "\(opened) \(expires) \(due)")
                }
            }
        }
    }

    /// expires_at a whole number of days after opened_at copies opened_at's time of day: it
    /// reads as formatted on its own, across negative times, other date lengths and the cache.
    @Test func expiresAt_wholeDaysAfterOpenedAt_isWrittenAsFormattedAlone() throws {
        var rng = SplitMix64(seed: 11)
        let day: Int64 = 86_400_000
        var openings: [Int64] = [0, -1, 1_715_850_001_000, -62_167_219_200_000, 253_402_300_799_999, 400_000_000_000_000]
        for _ in 0..<300 { openings.append(Int64(bitPattern: rng.next() % 600_000_000_000_000) - 300_000_000_000_000) }
        var buffer = ByteBuffer()
        for opened in openings {
            for length: Int64 in [day, 3 * day, 1, day + 1, day - 1, 1_000 * day, -day, 3_600_000, 25 * 3_600_000, 1_000] {
                let expires = opened &+ length
                let e = WindowEvent(event: .opened, window: .conversation, pmp: false, app: "A", contact: "1",
                                    contactID: "", category: "", conversationID: "", openedAt: opened,
                                    expiresAt: expires, lead: 0, dueAt: opened)
                buffer.removeAll()
                e.encode(into: &buffer)  // one buffer: its date cache carries over
                let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer.array)) as? [String: Any])
                #expect(object["opened_at"] as? String == Timestamp.format(opened))
                #expect(object["expires_at"] as? String == Timestamp.format(expires), "\(opened) + \(length)")
            }
        }
    }
}

@Suite struct ByteBufferTests {
    @Test func appendDecimal_matchesStringFormatting() {
        for v: Int64 in [0, 7, 10, 86_400, -1, -90, Int64.max, Int64.min, 1_234_567_890] {
            var b = ByteBuffer(capacity: 4)
            b.appendDecimal(v)
            #expect(String(decoding: b.array, as: UTF8.self) == String(v))
        }
    }
}
