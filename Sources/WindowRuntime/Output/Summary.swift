import WindowCore

/// The closing summary on standard error: exact counts of input, diagnostics and events.
struct Summary {
    var ingest: IngestCounters
    var engine: EngineCounters
    var contacts: Int
    var elapsedSeconds: Double
    var suppressedDiagnostics: Int
    /// With --state: periodic checkpoints taken, and the longest time a shard stood still
    /// (emitting nothing) to take its snapshot; the file itself is written in the background.
    var checkpoints: (taken: Int, longestPauseSeconds: Double)?
    /// With --state: windows loaded at start, how long loading took (map, check, restore),
    /// and how long the final write took (images, merge, write, fsync, rename).
    var state: (loadedWindows: Int, loadSeconds: Double, finalWriteSeconds: Double)?

    func json() -> String {
        func object(_ pairs: [(String, String)]) -> String {
            "{" + pairs.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
        }
        func quoted(_ s: String) -> String {
            var out: [UInt8] = []
            EventEncoder.appendString(s, &out)
            return String(decoding: out, as: UTF8.self)
        }
        let receipts = ingest.receipts.sorted { $0.key < $1.key }.map { (String(quoted($0.key).dropFirst().dropLast()), "\($0.value)") }
        let diagnostics = Diagnostic.allCases.map { ($0.code, "\(ingest.diagnostics[$0.rawValue])") }
        let events = EventKind.allCases.map { ($0.name, "\(engine.events[Int($0.rawValue)])") }
        let open = [WindowKind.customerService, .conversation, .freeEntryPoint].map { ($0.name, "\(engine.open[Int($0.rawValue)])") }
        let records = ingest.records
        let rate = elapsedSeconds > 0 ? Double(records) / elapsedSeconds : 0
        var fields: [(String, String)] = [
            ("lines", "\(ingest.lines)"),
            ("blank", "\(ingest.blank)"),
            ("skipped", "\(ingest.skipped)"),
            ("records", object([
                ("total", "\(records)"),
                ("inbound", "\(ingest.inbound)"),
                ("injected", "\(ingest.injected)"),
                ("system", "\(ingest.system)"),
                ("other_channel", "\(ingest.otherChannel)"),
                ("receipts", object(receipts)),
            ])),
            ("window_records", "\(ingest.windowRecords)"),
            ("pricing_receipts_without_pricing", "\(ingest.pricingReceiptsWithoutPricing)"),
            ("late", "\(engine.late)"),
            ("diagnostics", object(diagnostics)),
            ("diagnostics_not_printed", "\(suppressedDiagnostics)"),
            ("events", object(events)),
            ("open_windows", object(open)),
            ("remembered_windows", "\(engine.remembered)"),
            ("contacts", "\(contacts)"),
            ("elapsed_s", String(format3(elapsedSeconds))),
            ("records_per_s", "\(Int(rate))"),
        ]
        if let checkpoints {
            fields.append(("checkpoints", object([("taken", "\(checkpoints.taken)"),
                                                   ("longest_pause_s", format3(checkpoints.longestPauseSeconds))])))
        }
        if let state {
            fields.append(("state", object([("loaded_windows", "\(state.loadedWindows)"), ("load_s", format3(state.loadSeconds)),
                                             ("final_write_s", format3(state.finalWriteSeconds))])))
        }
        return object([("summary", object(fields))])
    }

    private func format3(_ v: Double) -> String {
        let ms = Int((v * 1000).rounded())
        let frac = String(ms % 1000)
        return "\(ms / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac)"
    }
}
