import WindowCore

/// The closing summary on standard error: exact counts of input, diagnostics and events.
struct Summary {
    var ingest: IngestCounters
    var engine: EngineCounters
    var contacts: Int
    var elapsedSeconds: Double
    var suppressedDiagnostics: Int
    /// With --state: checkpoints written (periodic and SIGUSR1), checkpoints that failed, and
    /// the longest time a shard stood still (emitting nothing) to take its snapshot; the file
    /// itself is written in the background.
    var checkpoints: (taken: Int, failed: Int, longestPauseSeconds: Double)?
    /// With --state: windows loaded at start, how long loading took (map, check, restore),
    /// and how long the final write took (images, merge, write, fsync, rename).
    var state: (loadedWindows: Int, loadSeconds: Double, finalWriteSeconds: Double)?

    /// A summary value: a number, a number of seconds written with three decimals, or an
    /// object whose keys keep their order.
    enum Value {
        case int(Int)
        case seconds(Double)
        case object([(String, Value)])
    }

    func json() -> String {
        let receipts = ingest.receipts.sorted { $0.key < $1.key }.map { ($0.key, Value.int($0.value)) }
        let diagnostics = Diagnostic.allCases.map { ($0.code, Value.int(ingest.diagnostics[$0.rawValue])) }
        let events = EventKind.allCases.map { ($0.name, Value.int(engine.events[Int($0.rawValue)])) }
        let open = [WindowKind.customerService, .conversation, .freeEntryPoint].map { ($0.name, Value.int(engine.open[Int($0.rawValue)])) }
        let records = ingest.records
        let rate = elapsedSeconds > 0 ? Double(records) / elapsedSeconds : 0
        var fields: [(String, Value)] = [
            ("lines", .int(ingest.lines)),
            ("blank", .int(ingest.blank)),
            ("skipped", .int(ingest.skipped)),
            ("records", .object([
                ("total", .int(records)),
                ("inbound", .int(ingest.inbound)),
                ("injected", .int(ingest.injected)),
                ("system", .int(ingest.system)),
                ("calls", .int(ingest.calls)),
                ("other_channel", .int(ingest.otherChannel)),
                ("receipts", .object(receipts)),
            ])),
            ("window_records", .int(ingest.windowRecords)),
            ("pricing_receipts_without_pricing", .int(ingest.pricingReceiptsWithoutPricing)),
            ("late", .int(engine.late)),
            ("diagnostics", .object(diagnostics)),
            ("diagnostics_not_printed", .int(suppressedDiagnostics)),
            ("events", .object(events)),
            ("open_windows", .object(open)),
            ("remembered_windows", .int(engine.remembered)),
            ("contacts", .int(contacts)),
            ("elapsed_s", .seconds(elapsedSeconds)),
            ("records_per_s", .int(Int(rate))),
        ]
        if let checkpoints {
            fields.append(("checkpoints", .object([("taken", .int(checkpoints.taken)), ("failed", .int(checkpoints.failed)),
                                                    ("longest_pause_s", .seconds(checkpoints.longestPauseSeconds))])))
        }
        if let state {
            fields.append(("state", .object([("loaded_windows", .int(state.loadedWindows)), ("load_s", .seconds(state.loadSeconds)),
                                              ("final_write_s", .seconds(state.finalWriteSeconds))])))
        }
        var out: [UInt8] = []
        Self.append(.object([("summary", .object(fields))]), &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Writes `value` with the event encoder's string escaping.
    static func append(_ value: Value, _ out: inout [UInt8]) {
        switch value {
        case .int(let n):
            out.append(contentsOf: String(n).utf8)
        case .seconds(let s):
            out.append(contentsOf: format3(s).utf8)
        case .object(let pairs):
            out.append(0x7B)
            for (i, (key, v)) in pairs.enumerated() {
                if i > 0 { out.append(0x2C) }
                EventEncoder.appendString(key, &out)
                out.append(0x3A)
                append(v, &out)
            }
            out.append(0x7D)
        }
    }

    private static func format3(_ v: Double) -> String {
        let ms = Int((v * 1000).rounded())
        let frac = String(ms % 1000)
        return "\(ms / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac)"
    }
}
