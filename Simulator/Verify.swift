import Foundation

/// Compares two event feeds per contact (order across contacts ignored, `id` ignored).
enum Verify {
    struct Report {
        var contacts = 0
        var events = 0
        var missing = 0
        var extra = 0
        var different = 0
        var lines: [String] = []
        var ok: Bool { missing == 0 && extra == 0 && different == 0 }
    }

    static func read(_ path: String) throws -> [String: [String]] {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let d = FileManager.default.contents(atPath: path) else {
                throw SimError("cannot read \(path)")
            }
            data = d
        }
        var out: [String: [String]] = [:]
        for (n, line) in data.split(separator: 0x0A).enumerated() {
            guard var object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw SimError("\(path):\(n + 1): not a JSON object")
            }
            object["id"] = nil
            let key = "\(object["app_id"] as? String ?? "")|\(object["contact"] as? String ?? "")"
            let canonical = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            out[key, default: []].append(String(decoding: canonical, as: UTF8.self))
        }
        return out
    }

    static func compare(expected: [String: [String]], actual: [String: [String]], maxReports: Int = 20) -> Report {
        var r = Report()
        for key in Set(expected.keys).union(actual.keys).sorted() {
            let e = expected[key] ?? [], a = actual[key] ?? []
            r.contacts += 1
            r.events += e.count
            guard e != a else { continue }
            let common = zip(e, a).prefix { $0 == $1 }.count
            var d = 0
            for i in common..<min(e.count, a.count) where e[i] != a[i] { d += 1 }
            r.different += d
            r.missing += max(0, e.count - a.count)
            r.extra += max(0, a.count - e.count)
            if r.lines.count < maxReports {
                r.lines.append("contact \(key): first difference at event \(common + 1) of \(e.count) expected / \(a.count) actual")
                r.lines.append("  expected: \(common < e.count ? e[common] : "(nothing)")")
                r.lines.append("  actual:   \(common < a.count ? a[common] : "(nothing)")")
            }
        }
        return r
    }
}

struct SimError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
