import Testing
@testable import WindowCore

/// A contact's conversation and free-entry-point windows form a list in order of creation;
/// adding at its end and taking one out cost the same however long it is (a hostile feed of
/// many conversation ids for one contact must not stall its shard).
@Suite struct KeyedListTests {
    /// The contact's windows, walked forwards.
    static func walk(_ e: borrowing WindowEngine, contact c: Int32) -> [Int32] {
        var out: [Int32] = []
        var s = e.contacts[Int(c)].firstOther
        while s >= 0 {
            out.append(s)
            s = e.nextOther(s)
        }
        return out
    }

    @Test func addingAndTakingOut_keepsTheOrderOfCreation_againstAPlainArray() {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<50 {
            var h = EngineHarness()
            var model: [String] = []
            var next = 0
            for _ in 0..<200 {
                if model.isEmpty || generator.next() % 3 != 0 {
                    let id = "c\(next)"
                    next += 1
                    h.conversation("46", id, at: 0)
                    model.append(id)
                } else {
                    let k = Int(generator.next() % UInt64(model.count))
                    let id = model.remove(at: k)
                    let s = h.engine.windowSlot(contact: "46", conversationID: id)!
                    h.engine.release(s)
                }
                let c = h.engine.contactSlotOf("46")
                let ids = c.map { Self.walk(h.engine, contact: $0).map { h.engine.conversationIDText($0) } } ?? []
                #expect(ids == model)
                if let c, h.engine.contacts[Int(c)].firstOther >= 0 {
                    let first = h.engine.contacts[Int(c)].firstOther
                    // The first window's `prev` is the last.
                    #expect(h.engine.keyedParts[Int(h.engine.windows[Int(first)].keyed)].prev == Self.walk(h.engine, contact: c).last)
                }
            }
        }
    }
}

extension WindowEngine {
    func contactSlotOf(_ contact: String, app: String = "APP") -> Int32? {
        let a = Array(app.utf8), k = Array(contact.utf8)
        return a.withUnsafeBufferPointer { app in
            k.withUnsafeBufferPointer { key in
                contactIndex.find(RoutingHash.contact(app: app, contact: key)) { s in
                    text.equals(contacts[Int(s)].contact, key) && text.equals(apps[Int(contacts[Int(s)].app)], app)
                }
            }
        }
    }

    func windowSlot(contact: String, conversationID id: String) -> Int32? {
        guard let c = contactSlotOf(contact) else { return nil }
        var s = contacts[Int(c)].firstOther
        while s >= 0 {
            if conversationIDText(s) == id { return s }
            s = nextOther(s)
        }
        return nil
    }

    func conversationIDText(_ s: Int32) -> String {
        String(decoding: text.bytes(conversationID(windows[Int(s)])), as: UTF8.self)
    }
}
