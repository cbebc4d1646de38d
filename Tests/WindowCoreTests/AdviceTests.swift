import Testing
@testable import WindowCore

/// `Advice`: free-form, free entry point, cost per category and the next change, as a pure
/// function of the windows open at T, the era table and T (SPEC section 13).
@Suite struct AdviceTests {
    static let eras = try! PricingEras.standard()
    static let hour: Int64 = 3_600_000
    static func t(_ text: String) -> Int64 { Timestamp.parse(text)! }

    static func window(_ kind: WindowKind, from: Int64, hours: Int64, category: String = "", pmp: Bool = false) -> SavedWindow {
        SavedWindow(kind: kind, pmp: pmp, open: true, warnDone: 0, opened: from, expires: from + hours * hour, last: from,
                    app: "APP", contact: "46", contactID: "", category: category, conversationID: kind == .conversation ? "c-\(category)" : "")
    }

    /// `sendable/cost` per category, in the order service, utility, marketing, authentication.
    static func summary(_ a: Advice) -> [String] {
        a.answer.categories.map { "\($0.sendable ? "yes" : "no")/\($0.cost.rawValue)" }
    }

    /// Every era × {no window, customer service window, free entry point, both} × category.
    @Test func everyEra_everyWindowSituation_givesTheCostOfEachCategory() {
        let expected: [(String, String, [String])] = [
            ("2023-07-01T12:00:00Z", "cbp-2023-06", ["no/free_quota", "yes/charged", "yes/charged", "yes/charged"]),
            ("2023-07-01T12:00:00Z", "cbp-2023-06", ["yes/free_quota", "yes/charged", "yes/charged", "yes/charged"]),
            ("2023-07-01T12:00:00Z", "cbp-2023-06", ["no/free", "yes/free", "yes/free", "yes/free"]),
            ("2023-07-01T12:00:00Z", "cbp-2023-06", ["yes/free", "yes/free", "yes/free", "yes/free"]),
            ("2025-01-15T12:00:00Z", "cbp-2024-11", ["no/free", "yes/charged", "yes/charged", "yes/charged"]),
            ("2025-01-15T12:00:00Z", "cbp-2024-11", ["yes/free", "yes/charged", "yes/charged", "yes/charged"]),
            ("2025-01-15T12:00:00Z", "cbp-2024-11", ["no/free", "yes/free", "yes/free", "yes/free"]),
            ("2025-01-15T12:00:00Z", "cbp-2024-11", ["yes/free", "yes/free", "yes/free", "yes/free"]),
            ("2026-01-15T12:00:00Z", "pmp-2025-07", ["no/free", "yes/charged", "yes/charged", "yes/charged"]),
            ("2026-01-15T12:00:00Z", "pmp-2025-07", ["yes/free", "yes/free", "yes/charged", "yes/charged"]),
            ("2026-01-15T12:00:00Z", "pmp-2025-07", ["no/free", "yes/free", "yes/free", "yes/free"]),
            ("2026-01-15T12:00:00Z", "pmp-2025-07", ["yes/free", "yes/free", "yes/free", "yes/free"]),
            ("2026-12-01T12:00:00Z", "pmp-2026-10", ["no/free_quota", "yes/charged", "yes/charged", "yes/charged"]),
            ("2026-12-01T12:00:00Z", "pmp-2026-10", ["yes/free_quota", "yes/charged", "yes/charged", "yes/charged"]),
            ("2026-12-01T12:00:00Z", "pmp-2026-10", ["no/free", "yes/free", "yes/free", "yes/free"]),
            ("2026-12-01T12:00:00Z", "pmp-2026-10", ["yes/free", "yes/free", "yes/free", "yes/free"]),
        ]
        for (i, (time, era, costs)) in expected.enumerated() {
            let t = Self.t(time)
            var windows: [SavedWindow] = []
            if i % 4 == 1 || i % 4 == 3 { windows.append(Self.window(.customerService, from: t - Self.hour, hours: 24)) }
            if i % 4 == 2 || i % 4 == 3 { windows.append(Self.window(.freeEntryPoint, from: t - 2 * Self.hour, hours: 72, pmp: era.hasPrefix("pmp"))) }
            let a = Advice(windows: windows, eras: Self.eras, at: t)
            #expect(a.answer.era?.id == era, "case \(i)")
            #expect(Self.summary(a) == costs, "case \(i): \(era) with \(windows.map(\.kind.name))")
            #expect((a.answer.freeForm != nil) == (i % 4 == 1 || i % 4 == 3), "case \(i)")
            #expect((a.answer.freeEntryPoint != nil) == (i % 4 >= 2), "case \(i)")
        }
    }

    @Test func cbp_templateIsFreeInsideAnOpenConversationOfItsCategoryOnly() {
        let t = Self.t("2024-02-01T10:00:00Z")
        let windows = [Self.window(.conversation, from: t - Self.hour, hours: 24, category: "UTILITY"),
                       Self.window(.conversation, from: t - Self.hour, hours: 24, category: "SERVICE")]
        let a = Advice(windows: windows, eras: Self.eras, at: t)
        #expect(Self.summary(a) == ["no/free", "yes/free", "yes/charged", "yes/charged"])
        #expect(a.answer.categories[1].why.contains("UTILITY conversation open until 2024-02-02T09:00:00.000Z"))
        #expect(a.answer.categories[2].why.contains("no MARKETING conversation open"))
    }

    @Test func pmp_conversationWindowsDoNotMakeTemplatesFree() {
        let t = Self.t("2025-07-01T10:00:00Z")
        let windows = [Self.window(.conversation, from: t - 12 * Self.hour, hours: 24, category: "MARKETING")]
        let a = Advice(windows: windows, eras: Self.eras, at: t)
        #expect(Self.summary(a) == ["no/free", "yes/charged", "yes/charged", "yes/charged"])
        // Its expiry changes no answer: nothing changes until the next era.
        #expect(a.nextChange == Advice.Change(at: Self.t("2026-10-01T00:00:00Z"), what: "pricing era pmp-2026-10 begins"))
    }

    @Test func eraBoundary_aMillisecondBefore_andAtTheInstant() {
        let boundaries = [("2023-06-01T00:00:00Z", nil, "cbp-2023-06"), ("2024-11-01T00:00:00Z", "cbp-2023-06", "cbp-2024-11"),
                          ("2025-07-01T00:00:00Z", "cbp-2024-11", "pmp-2025-07"), ("2026-10-01T00:00:00Z", "pmp-2025-07", "pmp-2026-10")]
        for (time, before, at) in boundaries {
            let t = Self.t(time)
            #expect(Advice(windows: [], eras: Self.eras, at: t - 1).answer.era?.id == before, "\(time) - 1 ms")
            #expect(Advice(windows: [], eras: Self.eras, at: t).answer.era?.id == at, "\(time)")
            let next = Advice(windows: [], eras: Self.eras, at: t - 1).nextChange
            #expect(next?.at == t && next?.what == "pricing era \(at) begins")
        }
    }

    @Test func beforeTheFirstEra_costIsUnknown_sendabilityStillKnown() {
        let t = Self.t("2023-05-31T23:59:59.999Z")
        let a = Advice(windows: [Self.window(.customerService, from: t - Self.hour, hours: 24)], eras: Self.eras, at: t)
        #expect(a.answer.era == nil)
        #expect(Self.summary(a) == ["yes/unknown", "yes/unknown", "yes/unknown", "yes/unknown"])
        #expect(a.answer.categories[0].why == "no pricing era covers this time")
        #expect(a.nextChange?.at == t + 1)
    }

    @Test func neverSeenPerson_noWindows_freeFormNotAllowed_templatesCharged() {
        let t = Self.t("2026-11-02T08:00:00Z")
        let a = Advice(windows: [], eras: Self.eras, at: t)
        #expect(a.answer.freeForm == nil && a.answer.freeEntryPoint == nil)
        #expect(Self.summary(a) == ["no/free_quota", "yes/charged", "yes/charged", "yes/charged"])
        #expect(a.answer.categories[0].why.hasPrefix("no customer_service window open"))
        #expect(a.nextChange == nil)
    }

    @Test func nextChange_windowExpiresBeforeTheNextEra() {
        let t = Self.t("2026-09-30T12:00:00Z")
        let a = Advice(windows: [Self.window(.customerService, from: t - 20 * Self.hour, hours: 24)], eras: Self.eras, at: t)
        #expect(a.nextChange == Advice.Change(at: t + 4 * Self.hour, what: "customer_service window expires"))
    }

    @Test func nextChange_nextEraBeginsBeforeTheWindowExpires() {
        let t = Self.t("2026-09-30T12:00:00Z")
        let a = Advice(windows: [Self.window(.customerService, from: t - Self.hour, hours: 24)], eras: Self.eras, at: t)
        #expect(a.nextChange == Advice.Change(at: Self.t("2026-10-01T00:00:00Z"), what: "pricing era pmp-2026-10 begins"))
    }

    @Test func nextChange_bothAtOneInstant_namesBoth() {
        let era = Self.t("2026-10-01T00:00:00Z")
        let a = Advice(windows: [Self.window(.customerService, from: era - 24 * Self.hour, hours: 24)], eras: Self.eras, at: era - 1)
        #expect(a.nextChange == Advice.Change(at: era, what: "customer_service window expires; pricing era pmp-2026-10 begins"))
    }

    @Test func windowsNotOpenAtT_areNotUsed() {
        let t = Self.t("2026-01-15T12:00:00Z")
        let later = Self.window(.customerService, from: t + 1, hours: 24)
        let ended = Self.window(.customerService, from: t - 24 * Self.hour, hours: 24)  // expires_at == t
        var closed = Self.window(.freeEntryPoint, from: t - Self.hour, hours: 72)
        closed.open = false
        let a = Advice(windows: [later, ended, closed], eras: Self.eras, at: t)
        #expect(a.answer.freeForm == nil && a.answer.freeEntryPoint == nil)
    }

    @Test func encoding_keysInTheDocumentedOrder_remainingFloored() {
        let t = Self.t("2026-01-15T12:00:00Z")
        let csw = Self.window(.customerService, from: t - Self.hour, hours: 24)
        let a = Advice(windows: [csw], eras: Self.eras, at: t)
        var out = ByteBuffer()
        a.encode(app: Array("APP".utf8), contact: Array("46".utf8), phone: nil, since: t - 500, into: &out)
        let text = String(decoding: out.array, as: UTF8.self)
        #expect(text.hasPrefix(#"{"app_id":"APP","contact":"46","as_of":"2026-01-15T12:00:00.000Z","era":{"id":"pmp-2025-07","from":"2025-07-01T00:00:00.000Z"},"free_form":{"allowed":true,"until":"2026-01-16T11:00:00.000Z","remaining_s":82800,"because":"customer_service"},"free_entry_point":{"open":false,"until":null},"categories":{"service":{"sendable":true,"cost":"free","why":"#))
        #expect(text.hasSuffix(#""next_change":{"at":"2026-01-16T11:00:00.000Z","what":"customer_service window expires"}}"#))
        let keys = ["\"service\"", "\"utility\"", "\"marketing\"", "\"authentication\"", "\"next_change\""]
        let positions = keys.map { text.range(of: $0)!.lowerBound }
        #expect(positions == positions.sorted())
        var phone = ByteBuffer()
        Advice(windows: [], eras: Self.eras, at: t).encode(app: [], contact: Array("US.1".utf8), phone: Array("46".utf8), since: t, into: &phone)
        #expect(String(decoding: phone.array, as: UTF8.self).hasPrefix(#"{"app_id":"","contact":"US.1","phone":"46","as_of":"#))
    }
}
