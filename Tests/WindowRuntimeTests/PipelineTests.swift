import Foundation
import Testing
import WindowCore
@testable import WindowRuntime

@Suite struct PipelineTests {
    @Test func sample_givesTheExpectedEvents() async throws {
        let result = try await runPipeline(try Fixtures.text("sample.ndjson"))
        let expected = try Fixtures.text("sample.expected.ndjson").split(separator: "\n").map(String.init)
        #expect(result.status == .ok)
        #expect(perContact(result.events) == perContact(expected))
        #expect(result.events.count == expected.count)
    }

    @Test(arguments: [1, 2, 8, 16])
    func perContactSequences_areTheSameForAnyShardCount(shards: Int) async throws {
        let input = Callback.stream(seed: 42, lines: 3_000, contacts: 40).joined(separator: "\n")
        let one = try await runPipeline(input) { $0.shards = 1; $0.engine.setWarnLeads([3_600_000, 600_000]); $0.ingest.lateness = 1_800_000 }
        let many = try await runPipeline(input) { $0.shards = shards; $0.engine.setWarnLeads([3_600_000, 600_000]); $0.ingest.lateness = 1_800_000 }
        #expect(!one.events.isEmpty)
        #expect(perContact(many.events) == perContact(one.events))
    }

    @Test func badLinesAnywhere_eachGetOneDiagnosticAndLeaveGoodOutputAlone() async throws {
        let good = Callback.stream(seed: 7, lines: 400, contacts: 10)
        let bad = ["{not json", "[1]", "{\"app_id\":\"A\"}", "{\"app_id\":\"A\",\"message\":{}}",
                   "{\"app_id\":\"A\",\"event_time\":\"nope\",\"message\":{\"channel_identity\":{\"channel\":\"SMS\"}}}",
                   "{\"app_id\":\"A\",\"event_time\":\"2025-06-20T00:00:00Z\",\"message\":{\"channel_identity\":{\"channel\":\"WHATSAPP\"}}}"]
        var mixed: [String] = []
        var badLineNumbers: [Int] = []
        for (i, line) in good.enumerated() {
            if i % 60 == 0 {
                mixed.append(bad[(i / 60) % bad.count])
                badLineNumbers.append(mixed.count)
            }
            mixed.append(line)
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wk-rejects-\(UUID().uuidString)")
        let rejects = dir.path
        defer { try? FileManager.default.removeItem(at: dir) }
        let clean = try await runPipeline(good.joined(separator: "\n"))
        let dirty = try await runPipeline(mixed.joined(separator: "\n")) { $0.rejectsPath = rejects }
        #expect(perContact(dirty.events) == perContact(clean.events))
        let diagnosticLines = dirty.stderr.split(separator: "\n").filter { $0.hasPrefix("{\"diagnostic\"") }
        #expect(diagnosticLines.count == badLineNumbers.count)
        for (line, number) in zip(diagnosticLines, badLineNumbers) {
            #expect(line.contains("\"line\":\(number),"), "\(line)")
        }
        let dead = try String(contentsOfFile: rejects, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(dead == badLineNumbers.map { mixed[$0 - 1] })
    }

    @Test func summary_countsLinesRecordsAndDiagnosticsExactly() async throws {
        let input = [Callback.inbound("1", at: 1_700_000_000_000), "", "{\"event\":{}}", "garbage",
                     Callback.inbound("2", at: 1_700_000_000_500)].joined(separator: "\n")
        let result = try await runPipeline(input)
        let summaryLine = result.stderr.split(separator: "\n").last.map(String.init) ?? ""
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(summaryLine.utf8)) as? [String: Any])["summary"] as? [String: Any]
        #expect(summary?["lines"] as? Int == 5)
        #expect(summary?["blank"] as? Int == 1)
        #expect(summary?["skipped"] as? Int == 1)
        #expect((summary?["diagnostics"] as? [String: Int])?["invalid_json"] == 1)
        #expect((summary?["events"] as? [String: Int])?["window_opened"] == 2)
        #expect((summary?["records"] as? [String: Any])?["inbound"] as? Int == 2)
    }

    @Test func strict_stopsAtTheFirstRejectedLine() async throws {
        let input = [Callback.inbound("1", at: 1_700_000_000_000), "garbage", Callback.inbound("2", at: 1_700_000_000_500)].joined(separator: "\n")
        let result = try await runPipeline(input) { $0.strict = true }
        #expect(result.status == .strict)
        #expect(result.events.count == 1)
    }

    @Test func tooLongLines_areRejectedAndTheStreamGoesOn() async throws {
        let long = "{\"pad\":\"" + String(repeating: "x", count: 5_000) + "\"}"
        let input = [long, Callback.inbound("1", at: 1_700_000_000_000)].joined(separator: "\n")
        let result = try await runPipeline(input) { $0.maxLineBytes = 1_000 }
        #expect(result.stderr.contains("\"diagnostic\":\"line_too_long\",\"line\":1,"))
        // End of input moves C to the last event time only: the window stays open.
        #expect(result.events.count == 1)
        #expect(result.events.first?.contains("window_opened") == true)
    }

    /// Once an event write fails (the consumer went away), events are lost: the run stops
    /// with status 1, and the state it leaves counts none of the lost events as emitted, so
    /// a restart on the whole input emits them again: what was delivered plus the restart,
    /// de-duplicated by id, is one uninterrupted run. Checkpoint images are taken in memory,
    /// and written to files (as for large states).
    @Test(arguments: [RunOptions().spillWindows, 0])
    func failedEventWrite_leavesOnlyStateWhoseEventsWereDelivered(spillWindows: Int) async throws {
        let input = Callback.stream(seed: 5, lines: 30_000, contacts: 60).joined(separator: "\n")
        let reference = try await runPipeline(input)
        let referenceBytes = reference.events.reduce(0) { $0 + $1.utf8.count + 1 }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wk-epipe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let state = dir.appendingPathComponent("state.bin").path
        let failing = FailingSink(limit: referenceBytes * 2 / 5)
        let failed = try await runPipeline(input, sink: failing) {
            $0.statePath = state
            $0.checkpointEvery = 1
            $0.spillWindows = spillWindows
        }
        #expect(failed.status == .ioError)
        #expect(failed.stderr.contains("{\"error\":\"writing events: Broken pipe\",\"time\":"))
        #expect(failed.stderr.contains("state not written"))
        let delivered = failing.lines
        #expect(!delivered.isEmpty && delivered.count < reference.events.count)
        let restarted = try await runPipeline(input) { $0.statePath = state }
        #expect(restarted.status == .ok)
        let union = CrashRestartTests.merged(delivered, restarted.events)
        #expect(perContact(union) == perContact(reference.events))
    }

    @Test func untilMovesTheClockAtEndOfInput() async throws {
        let t: Int64 = 1_700_000_000_000
        let noUntil = try await runPipeline(Callback.inbound("1", at: t))
        #expect(noUntil.events.count == 1)
        // C jumps to the expiry in one pass: the 1 h warning is dropped, the expiry fires.
        let until = try await runPipeline(Callback.inbound("1", at: t)) { $0.until = t + 86_400_000 }
        #expect(until.events.count == 2)
        #expect(until.events.last?.contains("\"event\":\"window_expired\"") == true)
        let before = try await runPipeline(Callback.inbound("1", at: t)) { $0.until = t + 86_400_000 - 1 }
        #expect(before.events.count == 2)
        #expect(before.events.last?.contains("\"event\":\"window_expiring\"") == true)
    }
}

@Suite struct LiveClockTests {
    static let t0: Int64 = 1_800_000_000_000

    @Test func shard_firesWarningAndExpiryWhenTheInjectedClockReachesThem() async throws {
        let clock = ManualClock(now: Self.t0)
        let sink = MemorySink()
        var options = EngineOptions()
        options.csw = 3_000
        options.setWarnLeads([1_000])
        let shard = Shard(options: options, mode: .wall, lateness: 0, sink: sink, clock: clock)
        var batch = ShardBatch()
        let arena = Array("APP46".utf8)
        let hash = arena.withUnsafeBufferPointer { RoutingHash.contact(app: UnsafeBufferPointer(rebasing: $0[0..<3]), contact: UnsafeBufferPointer(rebasing: $0[3..<5])) }
        let input = WindowInput(operation: .contactMessage, freeEntryPoint: false, time: Self.t0, contactHash: hash,
                                app: ByteRange(start: 0, count: 3), contact: ByteRange(start: 3, count: 2))
        arena.withUnsafeBufferPointer { batch.append(input, line: 0, from: $0) }
        await shard.process(batch)
        #expect(sink.lines.count == 1)
        clock.advance(to: Self.t0 + 1_999)
        #expect(await shard.wallTick() == Self.t0 + 2_000)
        #expect(sink.lines.count == 1)
        clock.advance(to: Self.t0 + 2_000)
        _ = await shard.wallTick()
        #expect(sink.lines.count == 2)
        #expect(sink.lines[1].contains("\"event\":\"window_expiring\""))
        clock.advance(to: Self.t0 + 3_000)
        #expect(await shard.wallTick() == nil)
        #expect(sink.lines.count == 3)
        #expect(sink.lines[2].contains("\"event\":\"window_expired\""))
    }

    @Test func pipeline_firesTimersWhileInputStaysOpenAndQuiet() async throws {
        let clock = ManualClock(now: Self.t0)
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let errFD = open("/dev/null", O_WRONLY)
        defer { close(errFD); close(fds[0]) }
        var options = RunOptions()
        options.ingest.mode = .wall
        options.engine.csw = 3_000
        options.engine.setWarnLeads([1_000])
        options.shards = 2
        let sink = MemorySink()
        let pipeline = Pipeline(options: options, input: fds[0], output: sink, errors: FDWriter(fd: errFD), clock: clock)
        async let status = pipeline.run()
        let line = Array((Callback.inbound("46", at: Self.t0) + "\n").utf8)
        _ = line.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        func waitForEvents(_ n: Int) async -> Bool {
            for _ in 0..<2_000_000 {
                if sink.lines.count >= n { return true }
                await Task.yield()
            }
            return false
        }
        #expect(await waitForEvents(1))
        clock.advance(to: Self.t0 + 2_000)
        #expect(await waitForEvents(2))
        #expect(sink.lines.count == 2)
        clock.advance(to: Self.t0 + 3_000)
        #expect(await waitForEvents(3))
        #expect(sink.lines.last?.contains("window_expired") == true)
        close(fds[1])
        let finalStatus = await status
        #expect(finalStatus == .ok)
    }
}
