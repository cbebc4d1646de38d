/// The pricing-era table (SPEC section 13): rows in time order, each valid from its `from`
/// until the next row's (or its own `until`). Checked when made: ids unique and non-empty,
/// rows in order and not overlapping, every category given its words. A time before the
/// first row, or in a gap a row's `until` leaves, has no era: costs are `unknown` there.
public struct PricingEras: Sendable, Equatable {
    public let eras: [PricingEra]

    /// A row that cannot be used: a one-line reason naming the row.
    public struct Problem: Error, Equatable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    public init(_ eras: [PricingEra]) throws(Problem) {
        guard !eras.isEmpty else { throw Problem("the table has no rows") }
        var ids = Set<String>()
        for (i, e) in eras.enumerated() {
            let name = "row \(i + 1) (\(e.id.isEmpty ? "no id" : e.id))"
            guard !e.id.isEmpty else { throw Problem("\(name): id is empty") }
            guard ids.insert(e.id).inserted else { throw Problem("\(name): id \(e.id) is used twice") }
            guard e.rules.count == MessageCategory.allCases.count else { throw Problem("\(name): needs a rule for each of service, utility, marketing, authentication") }
            if let until = e.until, until <= e.from {
                throw Problem("\(name): until \(Timestamp.format(until)) is not after from \(Timestamp.format(e.from))")
            }
            for c in MessageCategory.allCases {
                let r = e.rule(c)
                for w in [r.inside, r.outside] where w == .unknown {
                    throw Problem("\(name): \(c.name): unknown is not a cost word of a table (free, charged, free_quota)")
                }
                if c == .service && e.model == .pmp {
                    if r.outside != nil { throw Problem("\(name): service: a pmp row gives no outside word (free-form messages are sendable only inside the customer service window)") }
                } else if r.outside == nil {
                    throw Problem("\(name): \(c.name) needs an outside word")
                }
            }
            if i > 0 {
                let p = eras[i - 1]
                guard p.from < e.from else {
                    throw Problem("\(name): from \(Timestamp.format(e.from)) is not after row \(i) (\(p.id))'s \(Timestamp.format(p.from)): rows must be in time order")
                }
                if let until = p.until, until > e.from {
                    throw Problem("\(name) overlaps row \(i) (\(p.id)), which runs until \(Timestamp.format(until))")
                }
            }
        }
        self.eras = eras
    }

    /// SPEC section 13's four rows; `pmpFrom` (`--pmp-from`) moves the start of the first
    /// PMP row. Conversation-based rows that would begin at or after it are left out (that
    /// pricing had ended); a `pmpFrom` at or after the second PMP row's start leaves the first
    /// PMP row out and starts the second at `pmpFrom`.
    public static func standard(pmpFrom: Int64 = EngineOptions().pmpFrom) throws(Problem) -> PricingEras {
        func rules(_ s: CostRule, _ u: CostRule, _ m: CostRule, _ a: CostRule) -> [CostRule] { [s, u, m, a] }
        let cbpTemplate = CostRule(inside: .free, outside: .charged)
        let rows = [
            PricingEra(id: "cbp-2023-06", from: 1_685_577_600_000, model: .cbp,
                       rules: rules(CostRule(inside: .free, outside: .freeQuota), cbpTemplate, cbpTemplate, cbpTemplate)),
            PricingEra(id: "cbp-2024-11", from: 1_730_419_200_000, model: .cbp,
                       rules: rules(CostRule(inside: .free, outside: .free), cbpTemplate, cbpTemplate, cbpTemplate)),
            PricingEra(id: "pmp-2025-07", from: pmpFrom, model: .pmp,
                       rules: rules(CostRule(inside: .free, outside: nil), CostRule(inside: .free, outside: .charged),
                                    CostRule(inside: .charged, outside: .charged), CostRule(inside: .charged, outside: .charged))),
            PricingEra(id: "pmp-2026-10", from: 1_790_812_800_000, model: .pmp,
                       rules: rules(CostRule(inside: .freeQuota, outside: nil), CostRule(inside: .charged, outside: .charged),
                                    CostRule(inside: .charged, outside: .charged), CostRule(inside: .charged, outside: .charged))),
        ]
        guard pmpFrom < rows[3].from else {
            // Per-message pricing starts after the second PMP row's date: the first PMP row
            // is never in force, and the second begins at `pmpFrom`.
            var late = rows[3]
            late.from = pmpFrom
            return try PricingEras(rows.filter { $0.model == .cbp && $0.from < pmpFrom } + [late])
        }
        return try PricingEras(rows.filter { $0.model == .pmp || $0.from < pmpFrom })
    }

    /// The era covering `t`, or nil.
    public func era(at t: Int64) -> PricingEra? {
        var found: PricingEra?
        for e in eras where e.from <= t { found = e }
        if let e = found, let until = e.until, t >= until { return nil }
        return found
    }

    /// The instants after `t` at which the era changes (a row begins or ends), in order.
    public func boundaries(after t: Int64) -> [Int64] {
        var out: [Int64] = []
        for e in eras {
            if e.from > t { out.append(e.from) }
            if let until = e.until, until > t { out.append(until) }
        }
        return Array(Set(out)).sorted()
    }

    /// What happens at `t`: "pricing era pmp-2026-10 begins", "pricing era x ends".
    func changes(at t: Int64) -> [String] {
        var out: [String] = []
        for e in eras {
            if let until = e.until, until == t { out.append("pricing era \(e.id) ends") }
            if e.from == t { out.append("pricing era \(e.id) begins") }
        }
        return out
    }
}
