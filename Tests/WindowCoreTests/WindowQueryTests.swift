import Testing
@testable import WindowCore

/// `WindowEngine.answer`: the windows of one contact open at the clock C.
@Suite struct WindowQueryTests {
    typealias H = EngineHarness

    func answer(_ h: borrowing EngineHarness, _ identity: String, kind: WindowKind? = nil, category: String? = nil) -> WindowAnswer {
        h.engine.answer(WindowQuery(app: "APP", identity: identity, kind: kind, category: category))
    }

    func kinds(_ a: WindowAnswer) -> [String] {
        a.windows.map { "\($0.kind.name)\($0.pmp ? "/pmp" : "")\($0.conversationID.isEmpty ? "" : ":" + $0.conversationID)" }
    }

    @Test func everyKind_openBeforeExpiry_goneAfter() {
        var h = H()
        h.message("46", at: 0, contactID: "C1")
        h.conversation("46", "conv-1", at: 1, category: "MARKETING")
        h.conversation("46", "fep-1", at: 2, category: "FREE_ENTRY_POINT", fep: true)
        h.pmpEntry("47", at: 3, category: "REFERRAL_CONVERSION")
        h.clock(10)
        let open = answer(h, "+4 6")
        #expect(open.clock == H.h(10))
        #expect(kinds(open) == ["customer_service", "conversation:conv-1", "free_entry_point:fep-1"])
        #expect(kinds(answer(h, "47")) == ["free_entry_point/pmp"])
        #expect(open.windows[0].contactID == "C1")
        #expect(open.windows[0].opened == H.h(0) && open.windows[0].expires == H.h(24))
        #expect(open.windows[1].category == "MARKETING")
        h.clock(24)  // C = expires_at of the customer service window: no longer open
        #expect(kinds(answer(h, "46")) == ["conversation:conv-1", "free_entry_point:fep-1"])
        h.clock(75)
        #expect(answer(h, "46").windows.isEmpty)
        #expect(answer(h, "47").windows.isEmpty)
        #expect(answer(h, "48").windows.isEmpty)
    }

    @Test func filters_byKindAndUpperCasedCategory() {
        var h = H()
        h.message("46", at: 0)
        h.conversation("46", "a", at: 1, category: "MARKETING")
        h.conversation("46", "b", at: 1, category: "UTILITY")
        h.clock(2)
        #expect(kinds(answer(h, "46", kind: .conversation)) == ["conversation:a", "conversation:b"])
        #expect(kinds(answer(h, "46", kind: .conversation, category: "marketing")) == ["conversation:a"])
        #expect(kinds(answer(h, "46", category: "UTILITY")) == ["conversation:b"])
        #expect(answer(h, "46", kind: .freeEntryPoint).windows.isEmpty)
        // The customer service window has no category: a category filter never lists it.
        #expect(answer(h, "46", kind: .customerService, category: "MARKETING").windows.isEmpty)
    }

    @Test func beforeAnyRecord_theClockIsUnset() {
        let h = H()
        #expect(answer(h, "46").clock == .min)
    }

    @Test func encoding_keysInOrder_emptyValuesLeftOut_remainingFloored() {
        var h = H()
        h.message("46", at: 0, contactID: "C1")
        h.clock(1)
        let q = WindowQuery(app: "APP", identity: "+46")
        var out = ByteBuffer()
        h.engine.answer(q).encode(q, now: H.h(23) + 1_500, into: &out)
        #expect(String(decoding: out.array, as: UTF8.self) == #"{"app_id":"APP","contact":"46","as_of":"2024-05-16T01:00:00.000Z","open":true,"windows":[{"window":"customer_service","contact_id":"C1","opened_at":"2024-05-16T00:00:00.000Z","expires_at":"2024-05-17T00:00:00.000Z","remaining_s":3598}]}"#)
        var late = ByteBuffer()
        h.engine.answer(q).encode(q, now: H.h(24) + 500, into: &late)
        #expect(String(decoding: late.array, as: UTF8.self).contains(#""remaining_s":-1}"#))
        var none = ByteBuffer()
        let nobody = WindowQuery(app: "", identity: "1")
        H().engine.answer(nobody).encode(nobody, now: 0, into: &none)
        #expect(String(decoding: none.array, as: UTF8.self) == #"{"app_id":"","contact":"1","as_of":null,"open":false,"windows":[]}"#)
    }
}
