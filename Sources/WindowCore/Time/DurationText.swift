/// Durations as written on the command line: `90s`, `15m`, `1h30m`, `3d`, `250ms`, or `0`.
public enum DurationText {
    /// Milliseconds of `text`, or `nil` when it is not a duration.
    public static func parse(_ text: String) -> Int64? {
        if text == "0" { return 0 }
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return nil }
        var i = 0
        var total: Int64 = 0
        while i < bytes.count {
            var value: Int64 = 0
            let start = i
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(bytes[i] - 0x30))
                guard !o1, !o2 else { return nil }
                value = a
                i += 1
            }
            guard i > start, i < bytes.count else { return nil }
            let unit: Int64
            if bytes[i] == UInt8(ascii: "m"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "s") {
                unit = 1
                i += 2
            } else {
                switch bytes[i] {
                case UInt8(ascii: "d"): unit = 86_400_000
                case UInt8(ascii: "h"): unit = 3_600_000
                case UInt8(ascii: "m"): unit = 60_000
                case UInt8(ascii: "s"): unit = 1_000
                default: return nil
                }
                i += 1
            }
            let (p, o3) = value.multipliedReportingOverflow(by: unit)
            let (s, o4) = total.addingReportingOverflow(p)
            guard !o3, !o4 else { return nil }
            total = s
        }
        return total
    }

    /// A compact spelling of `millis` (`1h30m`, `250ms`, `0`), the inverse of `parse`.
    public static func format(_ millis: Int64) -> String {
        if millis == 0 { return "0" }
        var rest = millis
        var text = ""
        for (unit, name) in [(Int64(86_400_000), "d"), (3_600_000, "h"), (60_000, "m"), (1_000, "s"), (1, "ms")]
        where rest >= unit {
            text += "\(rest / unit)\(name)"
            rest %= unit
        }
        return text
    }
}
