import Foundation
import Synchronization
import Testing
import WindowCore
@testable import WindowRuntime

/// The notices that share standard error with the diagnostics.
@Suite struct DiagnosticLogTests {
    /// A log writing to a temporary file, with a hand-driven monotonic clock.
    final class Harness: Sendable {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wk-log-\(UUID().uuidString)").path
        let fd: Int32
        let nanos = Mutex<UInt64>(1_000_000_000_000)
        init() { fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        deinit { close(fd); unlink(path) }
        func log() -> DiagnosticLog { DiagnosticLog(stderr: FDWriter(fd: fd), rejects: nil, monotonicNanos: { self.nanos.withLock { $0 } }) }
        func advance(seconds: UInt64) { nanos.withLock { $0 += seconds * 1_000_000_000 } }
        var lines: [String] { ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
    }

    @Test func suppression_isAnnouncedOncePerPeriod() {
        let h = Harness()
        let log = h.log()
        for i in 1...2_500 { log.report(.invalidJSON, line: i, detail: "x") }
        h.advance(seconds: 10)
        for i in 2_501...3_600 { log.report(.invalidJSON, line: i, detail: "x") }
        log.flush()
        let notices = h.lines.filter { $0.hasPrefix("{\"diagnostics_suppressed\":") }
        #expect(notices.count == 2)
        #expect(notices.first?.hasSuffix(",\"line\":1001}") == true)
        #expect(notices.last?.hasSuffix(",\"line\":3501}") == true)
        #expect(h.lines.filter { $0.hasPrefix("{\"diagnostic\":") }.count == 2_000)
        #expect(log.suppressed == 1_500 + 100)
    }

    @Test func belowTheLimit_noNotice() {
        let h = Harness()
        let log = h.log()
        for i in 1...1_000 { log.report(.invalidJSON, line: i, detail: "x") }
        log.flush()
        #expect(h.lines.count == 1_000)
        #expect(log.suppressed == 0)
    }

    /// Old callbacks replayed on the wall clock: one hint, after the first 100 records.
    @Test func wallClockReplayOfOldCallbacks_hintsAtEventClockOnce() async throws {
        let old = Timestamp.parse("2024-05-16T09:00:00Z")!
        let lines = (0..<250).map { Callback.inbound("4670000\($0 % 7)", at: old + Int64($0) * 1_000) }
        let result = try await runPipeline(lines.joined(separator: "\n") + "\n") { $0.ingest.mode = .wall }
        let hints = result.stderr.split(separator: "\n").filter { $0.hasPrefix("{\"hint\":") }
        #expect(hints.count == 1)
        #expect(hints.first?.contains("--clock event") == true)
        #expect(hints.first?.hasSuffix(",\"line\":100}") == true)
    }

    @Test func noHint_whenARecordWasUsed_orInEventMode() async throws {
        let old = Timestamp.parse("2024-05-16T09:00:00Z")!
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let lines = [Callback.inbound("46799999999", at: now)] + (0..<150).map { Callback.inbound("4670000\($0 % 7)", at: old) }
        let wall = try await runPipeline(lines.joined(separator: "\n") + "\n") { $0.ingest.mode = .wall }
        #expect(!wall.stderr.contains("{\"hint\":"))
        let event = try await runPipeline(lines.joined(separator: "\n") + "\n")
        #expect(!event.stderr.contains("{\"hint\":"))
    }
}
