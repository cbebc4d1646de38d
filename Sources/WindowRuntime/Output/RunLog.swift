import WindowCore

/// What a run says about itself on standard error (start, listening, checkpoint failures,
/// errors, stop): one JSON object a line, each with the wall time it was said at, so that
/// a log collector can take standard error whole. Diagnostics keep their own shape (SPEC 6).
public struct RunLog: Sendable {
    public let errors: FDWriter
    public let clock: any WallClock

    public init(errors: FDWriter, clock: any WallClock) {
        self.errors = errors
        self.clock = clock
    }

    /// A field's value: a string or an integer.
    public enum Value: Sendable {
        case string(String)
        case int(Int)
    }

    /// `{"<key>":<value>, <fields>…, "time":"…"}` on one line.
    public func say(_ key: String, _ value: Value, _ fields: [(String, Value)] = []) {
        errors.write(Self.line(key, value, fields, time: clock.now()))
    }

    /// An error that ends (or keeps from starting) the run: `{"error":"…","time":"…"}`.
    public func error(_ message: String) { say("error", .string(message)) }

    static func line(_ key: String, _ value: Value, _ fields: [(String, Value)], time: Int64) -> [UInt8] {
        var out = ByteBuffer(capacity: 128)
        out.append("{")
        for (i, (k, v)) in ([(key, value)] + fields).enumerated() {
            if i > 0 { out.append(",") }
            EventEncoder.appendString(k, &out)
            out.append(":")
            switch v {
            case .string(let s): EventEncoder.appendString(s, &out)
            case .int(let n): out.appendDecimal(Int64(n))
            }
        }
        out.append(",\"time\":")
        EventEncoder.appendTime(time, &out)
        out.append("}\n")
        return out.array
    }
}
