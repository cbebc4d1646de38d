// libFuzzer target: bytes as a `--pricing-eras` file into `PricingErasFile.parse` (compiled in
// from Sources/WindowRuntime/Advice/PricingErasFile.swift) and `PricingEras`' checks.
// See docs/reliability.md. Properties:
//   - the file is refused with a message or loaded;
//   - a loaded table written back as JSON (every key, times as RFC 3339) parses to an equal
//     table;
//   - `era(at:)` and `boundaries(after:)` agree: the era is the same between two boundaries,
//     and each row's own `from` finds that row.
import Foundation
import WindowCore

/// `PricingErasFile.load` wraps problems in the runtime's `UsageError`; only `parse` is fuzzed.
public struct UsageError: Error {
    public init(_ message: String) {}
}

private func check(_ ok: Bool, _ message: @autoclosure () -> String) {
    if !ok { fatalError("property failed: \(message())") }
}

private func written(_ table: PricingEras) -> Data {
    let rows: [[String: Any]] = table.eras.map { e in
        var row: [String: Any] = ["id": e.id, "from": Timestamp.format(e.from), "model": e.model.rawValue]
        if let until = e.until { row["until"] = Timestamp.format(until) }
        for c in MessageCategory.allCases {
            let r = e.rule(c)
            var words = ["inside": r.inside.rawValue]
            if let o = r.outside { words["outside"] = o.rawValue }
            row[c.name] = words
        }
        return row
    }
    return try! JSONSerialization.data(withJSONObject: ["eras": rows])
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    let table: PricingEras
    do throws(PricingEras.Problem) {
        table = try PricingErasFile.parse(bytes)
    } catch {
        check(!error.message.isEmpty, "a refusal without a message")
        return 0
    }
    let again = written(table)
    do throws(PricingEras.Problem) {
        let reparsed = try PricingErasFile.parse(again)
        check(reparsed == table, "written back as \(String(decoding: again, as: UTF8.self)) it parses to another table")
    } catch {
        check(false, "written back as \(String(decoding: again, as: UTF8.self)) it is refused: \(error)")
    }
    for e in table.eras {
        check(table.era(at: e.from)?.id == e.id, "era(at: from of \(e.id)) is \(String(describing: table.era(at: e.from)?.id))")
        if let until = e.until { check(table.era(at: until - 1)?.id == e.id, "era just before \(e.id)'s until") }
    }
    let start = table.eras[0].from - 1
    var t = start
    for b in table.boundaries(after: start) {
        check(b > t, "boundaries not increasing")
        check(table.era(at: t)?.id == table.era(at: b - 1)?.id, "era changes between boundaries \(t) and \(b)")
        t = b
    }
    return 0
}
