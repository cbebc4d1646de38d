import Testing
@testable import WindowCore

/// `PricingEras`: the default table, `--pmp-from`, and the checks a table must pass.
@Suite struct PricingErasTests {
    static func t(_ text: String) -> Int64 { Timestamp.parse(text)! }
    static let rules = [CostRule(inside: .free, outside: .charged), CostRule(inside: .free, outside: .charged),
                        CostRule(inside: .charged, outside: .charged), CostRule(inside: .charged, outside: .charged)]

    @Test func standard_hasSection13sFourRows() throws {
        let table = try PricingEras.standard()
        #expect(table.eras.map(\.id) == ["cbp-2023-06", "cbp-2024-11", "pmp-2025-07", "pmp-2026-10"])
        #expect(table.eras.map { Timestamp.format($0.from) } == ["2023-06-01T00:00:00.000Z", "2024-11-01T00:00:00.000Z",
                                                                 "2025-07-01T00:00:00.000Z", "2026-10-01T00:00:00.000Z"])
        #expect(table.eras[0].rule(.service) == CostRule(inside: .free, outside: .freeQuota))
        #expect(table.eras[3].rule(.service) == CostRule(inside: .freeQuota, outside: nil))
        #expect(table.eras[3].rule(.utility) == CostRule(inside: .charged, outside: .charged))
    }

    @Test func pmpFrom_movesTheFirstPMPRow() throws {
        let table = try PricingEras.standard(pmpFrom: Self.t("2025-09-01T00:00:00Z"))
        #expect(table.era(at: Self.t("2025-08-31T23:59:59.999Z"))?.id == "cbp-2024-11")
        #expect(table.era(at: Self.t("2025-09-01T00:00:00Z"))?.id == "pmp-2025-07")
    }

    @Test func pmpFrom_beforeACBPRow_leavesThatRowOut() throws {
        let table = try PricingEras.standard(pmpFrom: Self.t("2024-01-01T00:00:00Z"))
        #expect(table.eras.map(\.id) == ["cbp-2023-06", "pmp-2025-07", "pmp-2026-10"])
    }

    @Test func pmpFrom_atOrAfterTheSecondPMPRow_leavesTheFirstOut_andStartsTheSecondThere() throws {
        let at = try PricingEras.standard(pmpFrom: Self.t("2026-10-01T00:00:00Z"))
        #expect(at.eras.map(\.id) == ["cbp-2023-06", "cbp-2024-11", "pmp-2026-10"])
        #expect(at.eras.last?.from == Self.t("2026-10-01T00:00:00Z"))
        let after = try PricingEras.standard(pmpFrom: Self.t("2027-01-01T00:00:00Z"))
        #expect(after.era(at: Self.t("2026-12-31T23:59:59.999Z"))?.id == "cbp-2024-11")
        #expect(after.era(at: Self.t("2027-01-01T00:00:00Z"))?.id == "pmp-2026-10")
    }

    @Test func unorderedRows_overlappingRows_sameId_areProblems() {
        let a = PricingEra(id: "a", from: 100, model: .pmp, rules: Self.rules.enumerated().map { $0.offset == 0 ? CostRule(inside: .free, outside: nil) : $0.element })
        var b = a
        b.id = "b"
        b.from = 50
        #expect(throws: PricingEras.Problem.self) { try PricingEras([a, b]) }
        b.from = 100
        #expect(throws: PricingEras.Problem.self) { try PricingEras([a, b]) }
        b.from = 200
        var early = a
        early.until = 250
        #expect(throws: PricingEras.Problem.self) { try PricingEras([early, b]) }
        early.until = 200
        #expect(throws: Never.self) { try PricingEras([early, b]) }
        b.id = "a"
        #expect(throws: PricingEras.Problem.self) { try PricingEras([a, b]) }
        #expect(throws: PricingEras.Problem.self) { try PricingEras([]) }
    }

    @Test func serviceWords_cbpNeedsOutside_pmpRefusesIt() {
        let cbp = PricingEra(id: "c", from: 0, model: .cbp, rules: Self.rules.enumerated().map { $0.offset == 0 ? CostRule(inside: .free, outside: nil) : $0.element })
        #expect(throws: PricingEras.Problem.self) { try PricingEras([cbp]) }
        let pmp = PricingEra(id: "p", from: 0, model: .pmp, rules: Self.rules)
        #expect(throws: PricingEras.Problem.self) { try PricingEras([pmp]) }
        var unknown = pmp
        unknown.model = .cbp
        unknown.rules[2] = CostRule(inside: .unknown, outside: .charged)
        #expect(throws: PricingEras.Problem.self) { try PricingEras([unknown]) }
    }

    @Test func aGapLeftByUntil_hasNoEra_andItsEndIsABoundary() throws {
        var a = PricingEra(id: "a", from: 100, until: 150, model: .cbp, rules: Self.rules)
        a.rules[0] = CostRule(inside: .free, outside: .free)
        var b = a
        b.id = "b"; b.from = 200; b.until = nil
        let table = try PricingEras([a, b])
        #expect(table.era(at: 149)?.id == "a")
        #expect(table.era(at: 150) == nil)
        #expect(table.era(at: 200)?.id == "b")
        #expect(table.boundaries(after: 100) == [150, 200])
        #expect(Advice(windows: [], eras: table, at: 120).nextChange == Advice.Change(at: 150, what: "pricing era a ends"))
    }
}
