import Foundation
import WindowCore

/// `--pricing-eras FILE`: a pricing-era table as JSON (docs/advice.md, `examples/pricing-eras.json`):
///
///     {"eras": [
///       {"id": "cbp-2024-11", "from": "2024-11-01T00:00:00Z", "model": "cbp",
///        "service": {"inside": "free", "outside": "free"},
///        "utility": {"inside": "free", "outside": "charged"}, …},
///       {"id": "pmp-2025-07", "from": "2025-07-01T00:00:00Z", "model": "pmp",
///        "service": {"inside": "free"}, …}]}
///
/// Each row: `id`, `from` (RFC 3339), optional `until`, `model` (`cbp` or `pmp`), and for
/// each of `service`, `utility`, `marketing`, `authentication` the cost words (`free`,
/// `charged`, `free_quota`) `inside` and `outside` the window. Unknown keys are refused, so
/// a misspelt key is never silently ignored.
public enum PricingErasFile {
    public static func load(_ path: String) throws(UsageError) -> PricingEras {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UsageError("--pricing-eras \(path): cannot read the file")
        }
        do {
            return try parse(data)
        } catch {
            throw UsageError("--pricing-eras \(path): \(error.message)")
        }
    }

    public static func parse(_ data: Data) throws(PricingEras.Problem) -> PricingEras {
        let top: Any
        do { top = try JSONSerialization.jsonObject(with: data) } catch {
            throw PricingEras.Problem("not valid JSON")
        }
        guard let object = top as? [String: Any], let rows = object["eras"] as? [Any] else {
            throw PricingEras.Problem("expected an object {\"eras\": [rows…]}")
        }
        if let extra = object.keys.first(where: { $0 != "eras" }) { throw PricingEras.Problem("unknown key \(extra)") }
        var eras: [PricingEra] = []
        for (i, any) in rows.enumerated() {
            let name = "row \(i + 1)"
            guard let row = any as? [String: Any] else { throw PricingEras.Problem("\(name) is not an object") }
            func string(_ key: String, required: Bool = true) throws(PricingEras.Problem) -> String? {
                guard let v = row[key] else {
                    if required { throw PricingEras.Problem("\(name): missing \(key)") }
                    return nil
                }
                guard let s = v as? String else { throw PricingEras.Problem("\(name): \(key) must be a string") }
                return s
            }
            func time(_ key: String, required: Bool = true) throws(PricingEras.Problem) -> Int64? {
                guard let s = try string(key, required: required) else { return nil }
                guard let t = Timestamp.parse(s) else { throw PricingEras.Problem("\(name): \(key) '\(s)' is not an RFC 3339 time") }
                return t
            }
            let allowed = Set(["id", "from", "until", "model"] + MessageCategory.allCases.map(\.name))
            if let extra = row.keys.sorted().first(where: { !allowed.contains($0) }) {
                throw PricingEras.Problem("\(name): unknown key \(extra) (a row has id, from, until, model, service, utility, marketing, authentication)")
            }
            let id = try string("id")!
            let from = try time("from")!
            let until = try time("until", required: false)
            let modelText = try string("model")!
            guard let model = EraModel(rawValue: modelText) else {
                throw PricingEras.Problem("\(name): model must be cbp or pmp, not '\(modelText)'")
            }
            var rules: [CostRule] = []
            for c in MessageCategory.allCases {
                guard let words = row[c.name] as? [String: Any] else {
                    throw PricingEras.Problem("\(name): \(c.name) must be an object {\"inside\": WORD, \"outside\": WORD}")
                }
                if let extra = words.keys.sorted().first(where: { $0 != "inside" && $0 != "outside" }) {
                    throw PricingEras.Problem("\(name): \(c.name): unknown key \(extra) (inside, outside)")
                }
                func word(_ key: String) throws(PricingEras.Problem) -> SendCost? {
                    guard let v = words[key] else { return nil }
                    guard let s = v as? String, let w = SendCost(rawValue: s), w != .unknown else {
                        throw PricingEras.Problem("\(name): \(c.name).\(key): unknown cost word \(v) (free, charged, free_quota)")
                    }
                    return w
                }
                guard let inside = try word("inside") else { throw PricingEras.Problem("\(name): \(c.name): missing inside") }
                rules.append(CostRule(inside: inside, outside: try word("outside")))
            }
            eras.append(PricingEra(id: id, from: from, until: until, model: model, rules: rules))
        }
        return try PricingEras(eras)
    }
}
