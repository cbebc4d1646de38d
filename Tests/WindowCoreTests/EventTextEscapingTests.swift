import Foundation
import Testing
@testable import WindowCore

/// Strings copied into events unchecked while no store holds one that needs escaping, and
/// escaped from the first that does (in either store): the feed always parses back to them.
@Suite struct EventTextEscapingTests {
    static func values(_ output: borrowing ByteBuffer) throws -> [[String: Any]] {
        try String(decoding: output.array, as: UTF8.self).split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// Each case puts its first string that needs escaping in one field: the contact, the
    /// contact id (a store of its own), the conversation id or the category.
    @Test(arguments: [("4\"7", "", "id1", "CAT"), ("", "C\\2", "id1", "CAT"), ("4\u{1}", "C\n", "id1", "CAT"),
                      ("", "", "id\u{0}1", "CAT"), ("", "", "id1", "CA\"T")])
    func escapedTextAfterPlainText_isEscapedInTheFeed(contact: String, contactID: String, id: String, category: String) throws {
        var h = EngineHarness()
        h.message("46", at: 0, contactID: "C1")
        h.message("47\(contact)", at: 1, contactID: contactID)
        h.conversation("48", id, at: 2, category: category)
        h.message("46", at: 3, contactID: "C3")
        let lines = try Self.values(h.engine.output)
        #expect(h.drain().count == 4)  // and the feed equals the value path's encoding
        #expect(lines.map { $0["event"] as? String } == ["window_opened", "window_opened", "window_opened", "window_updated"])
        #expect(lines.map { $0["contact"] as? String } == ["46", "47\(contact)", "48", "46"].map(Optional.some))
        #expect(lines.map { $0["contact_id"] as? String } == ["C1", contactID.isEmpty ? nil : contactID, nil, "C3"])
        #expect(lines[2]["conversation_id"] as? String == id)
        #expect(lines[2]["category"] as? String == category)
    }
}
