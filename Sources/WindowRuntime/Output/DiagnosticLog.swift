import WindowCore

/// Diagnostics as NDJSON on standard error, at most 1,000 lines per 10 seconds
/// (the counts in the summary stay exact), and the `--rejects` dead-letter file.
final class DiagnosticLog {
    private let stderr: FDWriter
    private let rejects: FDWriter?
    private var buffer: [UInt8] = []
    private var rejectBuffer: [UInt8] = []
    private var windowStart: UInt64 = 0
    private var printedInWindow = 0
    private(set) var suppressed = 0
    static let limit = 1_000
    static let windowNanos: UInt64 = 10_000_000_000

    init(stderr: FDWriter, rejects: FDWriter?) {
        self.stderr = stderr
        self.rejects = rejects
    }

    func report(_ d: Diagnostic, line: Int, detail: String) {
        let now = System.monotonicNanos()
        if now &- windowStart >= Self.windowNanos {
            windowStart = now
            printedInWindow = 0
        }
        guard printedInWindow < Self.limit else {
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
