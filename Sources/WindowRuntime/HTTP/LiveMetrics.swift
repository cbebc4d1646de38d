import Foundation
import Synchronization
import WindowCore

/// What `/metrics` reports: the reader's counts and clock, published after every chunk of
/// input, and each shard's counts, published after every batch and tick. Read from the
/// listener's thread; nothing here holds a contact or an app id.
public final class LiveMetrics: Sendable {
    struct Reading: Sendable {
        var ingest = IngestCounters()
        /// Event mode: the clock C after the last line read (`Int64.min` before any).
        var clock: Int64 = .min
        /// The largest event time of a record so far, either mode (`Int64.min` before any).
        var newest: Int64 = .min
        var checkpoints = 0
        /// Wall time of the newest checkpoint's cut, ms (nil before the first).
        var lastCheckpoint: Int64?
        var longestPause: UInt64 = 0
    }

    private let reading = Mutex(Reading())
    private let shards: Mutex<[(counters: EngineCounters, contacts: Int)]>
    private let readyFlag = Atomic<Bool>(false)
    let mode: ClockMode
    let lateness: Int64
    /// How the checkpoints went (with --state).
    let health: CheckpointHealth

    init(shards: Int, mode: ClockMode, lateness: Int64, health: CheckpointHealth = CheckpointHealth()) {
        self.shards = Mutex(Array(repeating: (EngineCounters(), 0), count: shards))
        self.mode = mode
        self.lateness = lateness
        self.health = health
    }

    /// What `/readyz` says: loaded and reading, and the newest checkpoint did not fail.
    var readiness: (ready: Bool, status: String) {
        guard ready else { return (false, "starting") }
        return health.reading.failing ? (false, "checkpoint_failing") : (true, "ready")
    }

    /// The state is loaded and reading has begun.
    var ready: Bool {
        get { readyFlag.load(ordering: .relaxed) }
        set { readyFlag.store(newValue, ordering: .relaxed) }
    }

    func publish(_ update: (inout Reading) -> Void) {
        reading.withLock { update(&$0) }
    }

    func publish(shard k: Int, _ counters: EngineCounters, contacts: Int) {
        shards.withLock { $0[k] = (counters, contacts) }
    }

    /// The Prometheus text exposition (format 0.0.4) as of wall time `now` (ms).
    func render(now: Int64) -> [UInt8] {
        let r = reading.withLock { $0 }
        let h = health.reading
        var engine = EngineCounters()
        var contacts = 0
        shards.withLock { all in
            for s in all {
                engine.add(s.counters)
                contacts += s.contacts
            }
        }
        let c = mode == .event ? r.clock : now - lateness
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            out += "# HELP windowkeeper_\(name) \(help)\n# TYPE windowkeeper_\(name) \(type)\n"
            for s in samples { out += "windowkeeper_\(name)\(s.labels.isEmpty ? "" : "{\(s.labels)}") \(s.value)\n" }
        }
        func seconds(_ ms: Int64) -> String {
            let sign = ms < 0 ? "-" : ""
            let m = ms.magnitude
            let frac = String(m % 1_000)
            return "\(sign)\(m / 1_000).\(String(repeating: "0", count: 3 - frac.count))\(frac)"
        }
        let i = r.ingest
        family("lines_total", "counter", "Input lines read.", [("", "\(i.lines)")])
        family("records_total", "counter", "Usable records by kind (a receipt counts under its status in windowkeeper_receipts_total too).", [
            ("kind=\"inbound\"", "\(i.inbound)"), ("kind=\"injected\"", "\(i.injected)"), ("kind=\"call\"", "\(i.calls)"),
            ("kind=\"other_channel\"", "\(i.otherChannel)"), ("kind=\"receipt\"", "\(i.receipts.values.reduce(0, +))"),
        ])
        family("receipts_total", "counter", "WhatsApp delivery receipts by status.",
               i.receipts.sorted { $0.key < $1.key }.map { ("status=\"\(Self.escape($0.key))\"", "\($0.value)") })
        family("skipped_total", "counter", "Callbacks of other kinds, skipped.", [("", "\(i.skipped)")])
        family("blank_lines_total", "counter", "Blank input lines.", [("", "\(i.blank)")])
        family("diagnostics_total", "counter", "Diagnostics by code (exact, whether printed or not).",
               Diagnostic.allCases.map { ("code=\"\($0.code)\"", "\(i.diagnostics[$0.rawValue])") })
        family("events_total", "counter", "Window events written.",
               EventKind.allCases.map { ("event=\"\($0.name)\"", "\(engine.events[Int($0.rawValue)])") })
        family("late_total", "counter", "Windows not opened because they were already over.", [("", "\(engine.late)")])
        family("checkpoints_total", "counter", "Checkpoints written (periodic and SIGUSR1).", [("", "\(h.written)")])
        family("checkpoint_failures_total", "counter", "Checkpoints that could not be written.", [("", "\(h.failed)")])
        family("open_windows", "gauge", "Open windows by kind.",
               [WindowKind.customerService, .conversation, .freeEntryPoint].map { ("window=\"\($0.name)\"", "\(engine.open[Int($0.rawValue)])") })
        family("remembered_windows", "gauge", "Expired windows still remembered.", [("", "\(engine.remembered)")])
        family("contacts", "gauge", "Contacts with an open or remembered window.", [("", "\(contacts)")])
        family("clock_seconds", "gauge", "The clock C as Unix time (0 before the first record in event mode).",
               [("", c == .min ? "0" : seconds(c))])
        family("clock_lag_seconds", "gauge", "Wall time minus the clock C.", [("", c == .min ? "0" : seconds(now - c))])
        family("newest_event_timestamp_seconds", "gauge", "The largest event time of a record so far as Unix time (0 before the first).",
               [("", r.newest == .min ? "0" : seconds(r.newest))])
        family("event_lag_seconds", "gauge", "Wall time minus the newest event time: how far behind the input is (0 before the first record).",
               [("", r.newest == .min ? "0" : seconds(now - r.newest))])
        family("last_checkpoint_timestamp_seconds", "gauge", "Unix time the newest checkpoint was started (0 before the first); see ..._success_....",
               [("", r.lastCheckpoint.map(seconds) ?? "0")])
        family("last_checkpoint_success_timestamp_seconds", "gauge", "Unix time the newest checkpoint was written whole (0 before the first).",
               [("", h.lastSuccess.map(seconds) ?? "0")])
        family("checkpoint_pause_seconds", "gauge", "The longest time a shard stood still for a checkpoint.",
               [("", String(format: "%.6f", Double(r.longestPause) / 1e9))])
        return Array(out.utf8)
    }

    /// A label value as the exposition format writes it.
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
