import WindowCore

/// Diagnostics as NDJSON on standard error, at most 1,000 lines per 10 seconds
/// (the counts in the summary stay exact), and the `--rejects` dead-letter file.
///
/// Two notices share standard error with the diagnostics, each one JSON line outside the
/// limit: `{"diagnostics_suppressed":…}` when the limit starts holding lines back (once per
/// 10-second period), and a `{"hint":…}` once when a wall-clock run finds its first
/// `tooLateHintAfter` records all too late (an old file replayed without `--clock event`).
final class DiagnosticLog {
    private let stderr: FDWriter
    private let rejects: FDWriter?
    private var buffer: [UInt8] = []
    private var rejectBuffer: [UInt8] = []
    private var windowStart: UInt64 = 0
    private var printedInWindow = 0
    private(set) var suppressed = 0
    private var hinted = false
    private let monotonicNanos: () -> UInt64
    static let limit = 1_000
    static let windowNanos: UInt64 = 10_000_000_000
    static let tooLateHintAfter = 100

    init(stderr: FDWriter, rejects: FDWriter?, monotonicNanos: @escaping () -> UInt64 = System.monotonicNanos) {
        self.stderr = stderr
        self.rejects = rejects
        self.monotonicNanos = monotonicNanos
    }

    func report(_ d: Diagnostic, line: Int, detail: String) {
        let now = monotonicNanos()
        if now &- windowStart >= Self.windowNanos {
            windowStart = now
            printedInWindow = 0
        }
        guard printedInWindow < Self.limit else {
            if printedInWindow == Self.limit {
                printedInWindow += 1
                notice("diagnostics_suppressed", "more than \(Self.limit) diagnostics in 10 s: the rest of this period is not printed (the summary counts them all)",
                       line: line)
            }
            suppressed += 1
            return
        }
        printedInWindow += 1
        EventEncoder.appendKey("diagnostic", first: true, &buffer)
        EventEncoder.appendString(d.code, &buffer)
        EventEncoder.appendKey("line", &buffer)
        buffer.append(contentsOf: String(line).utf8)
        EventEncoder.appendKey("detail", &buffer)
        EventEncoder.appendString(detail, &buffer)
        buffer.append(contentsOf: [0x7D, 0x0A])
        if buffer.count > 1 << 16 { flush() }
    }

    /// After a `too_late` diagnostic in wall mode: once the first `tooLateHintAfter`
    /// records were all too late and none was used, suggests `--clock event`.
    func tooLate(_ counters: IngestCounters) {
        guard !hinted else { return }
        // Once a record was used, not every record was too late: no hint, ever.
        if counters.records > 0 { hinted = true; return }
        guard counters.diagnostics[Diagnostic.tooLate.rawValue] >= Self.tooLateHintAfter else { return }
        hinted = true
        notice("hint", "the first \(Self.tooLateHintAfter) records were all too_late for the wall clock; to replay old callbacks, use --clock event",
               line: counters.lines)
    }

    private func notice(_ key: StaticString, _ text: String, line: Int) {
        EventEncoder.appendKey(key, first: true, &buffer)
        EventEncoder.appendString(text, &buffer)
        EventEncoder.appendKey("line", &buffer)
        buffer.append(contentsOf: String(line).utf8)
        buffer.append(contentsOf: [0x7D, 0x0A])
    }

    /// Appends part of an unused line to the dead-letter file; `end` closes the line.
    func reject(_ bytes: UnsafeBufferPointer<UInt8>, end: Bool) {
        guard rejects != nil else { return }
        rejectBuffer.append(contentsOf: bytes)
        if end { rejectBuffer.append(0x0A) }
        if rejectBuffer.count > 1 << 16 { flush() }
    }

    var rejectsError: Int32? { rejects?.error }

    func flush() {
        if !buffer.isEmpty {
            stderr.write(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
        if let rejects, !rejectBuffer.isEmpty {
            rejects.write(rejectBuffer)
            rejectBuffer.removeAll(keepingCapacity: true)
        }
    }
}
