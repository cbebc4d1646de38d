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

@Suite struct ByteBufferTests {
    @Test func appendDecimal_matchesStringFormatting() {
        for v: Int64 in [0, 7, 10, 86_400, -1, -90, Int64.max, Int64.min, 1_234_567_890] {
            var b = ByteBuffer(capacity: 4)
            b.appendDecimal(v)
            #expect(String(decoding: b.array, as: UTF8.self) == String(v))
        }
    }
}
