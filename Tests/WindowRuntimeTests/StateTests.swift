import Foundation
import Testing
@testable import WindowRuntime
import WindowCore

/// Kill -9 at random points of a replay, restart with the same --state and the whole input
/// again (an at-least-once upstream replays everything): the union of all output,
/// de-duplicated by id, equals one uninterrupted run per contact.
@Suite struct CrashRestartTests {
    static func spawn(_ args: [String]) throws -> (Process, Pipe, Pipe) {
        let p = Process()
        p.executableURL = ExecutableTests.binary
        p.arguments = args
        let stdin = Pipe(), stdout = Pipe()
        p.standardInput = stdin
        p.standardOutput = stdout
        p.standardError = FileHandle.nullDevice
        try p.run()
        return (p, stdin, stdout)
    }

    /// Feeds the first `killAfter + 1` of `chunks` parts of `input` to a run, kills it with
    /// SIGKILL once a first checkpoint exists (bounded), and returns its complete event lines
    /// (SIGKILL can cut a write short: a consumer drops the unterminated last line, and the
    /// restart emits that event again, as no checkpoint follows an unfinished write).
    static func killedRun(_ options: [String], input: Data, chunks: Int, killAfter: Int, state: String) throws -> [String] {
        let (p, stdin, stdout) = try spawn(options)
        let collected = ExecutableTests.LockedData()
        Thread { collected.set(stdout.fileHandleForReading.readDataToEndOfFile()) }.start()
        for k in 0...killAfter {
            stdin.fileHandleForWriting.write(input.subdata(in: input.count * k / chunks..<input.count * (k + 1) / chunks))
        }
        var spins = 0
        while !FileManager.default.fileExists(atPath: state), spins < 5_000_000 { spins += 1 }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        try? stdin.fileHandleForWriting.close()
        var bytes = collected.wait()
        while let last = bytes.last, last != UInt8(ascii: "\n") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// The runs' events in order, each id once (what a consumer that drops repeats keeps).
    static func merged(_ runs: [String]...) -> [String] {
        var seen: Set<String> = []
        var out: [String] = []
        for line in runs.joined() {
            guard let r = line.range(of: #""id":"[0-9a-f]{16}""#, options: .regularExpression) else { continue }
            if seen.insert(String(line[r])).inserted { out.append(line) }
        }
        return out
    }

    @Test func killedAndRestartedRuns_loseAndRepeatNothing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wk-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let options = ["--clock", "event", "--lateness", "30m", "--warn", "2h,10m"]
        var resumed = 0
        for seed in 0..<12 as Range<UInt64> {
            let lines = Callback.stream(seed: seed + 100, lines: 3_000, contacts: 30)
            let input = Data((lines.joined(separator: "\n") + "\n").utf8)
            let reference = try ExecutableTests.run(options, input: String(decoding: input, as: UTF8.self))
            let state = dir.appendingPathComponent("state-\(seed).bin").path
            let stateOptions = options + ["--state", state, "--checkpoint-every", "1ms", "--shards", String(1 + Int(seed % 3))]

            // First run: fed in chunks, killed after a seeded number of them.
            let chunks = 30
            let killAfter = Int(seed * 7 % UInt64(chunks))
            let killed = try Self.killedRun(stateOptions, input: input, chunks: chunks, killAfter: killAfter, state: state)

            // Restart with the whole input again.
            let restarted = try ExecutableTests.run(stateOptions, input: String(decoding: input, as: UTF8.self))
            #expect(restarted.status == 0, "seed \(seed)")
            let union = Self.merged(killed, restarted.events)
            #expect(perContact(union) == perContact(reference.events), "seed \(seed), killed after chunk \(killAfter)")
            if restarted.events.count < reference.events.count { resumed += 1 }
        }
        // The restarts really continued from saved state (not from scratch) in most seeds.
        #expect(resumed >= 6)
    }

    /// Checkpoint files are written in the background: the state at exit must be the final
    /// one, never replaced by a periodic checkpoint that finished writing later.
    @Test func stateAtExit_isTheFinalStateWhateverTheCheckpoints() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wk-final-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for seed in 0..<4 as Range<UInt64> {
            let input = Callback.stream(seed: seed + 300, lines: 4_000, contacts: 40).joined(separator: "\n") + "\n"
            var files: [Data] = []
            for every in ["1ms", "1h"] {
                let state = dir.appendingPathComponent("s-\(seed)-\(every).bin").path
                let run = try ExecutableTests.run(["--clock", "event", "--shards", "2", "--state", state, "--checkpoint-every", every], input: input)
                #expect(run.status == 0)
                #expect(run.stderr.contains("\"checkpoints\":{\"taken\":"))
                files.append(try Data(contentsOf: URL(fileURLWithPath: state)))
            }
            #expect(files[0] == files[1], "seed \(seed)")
        }
    }

    @Test func corruptState_isRefusedAndLeftAlone() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wk-bad-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let garbage = Data("WKSTATE\0 this is not a state file".utf8)
        #expect(FileManager.default.createFile(atPath: path, contents: garbage))
        // No input: the run is refused before reading, and a write into its closed pipe would fail.
        let run = try ExecutableTests.run(["--clock", "event", "--state", path], input: "")
        #expect(run.status == 2)
        #expect(run.stderr.contains("refusing"))
        #expect(FileManager.default.contents(atPath: path) == garbage)
    }

    /// --warn and the window lengths may change across a restart; --clock and --lateness may not.
    @Test func changedLeadsAndLengths_areTaken_changedClockOrLateness_refused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wk-change-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path); try? FileManager.default.removeItem(atPath: path + ".lock") }
        let sample = try Fixtures.text("sample.ndjson")
        #expect(try ExecutableTests.run(["--clock", "event", "--state", path], input: sample).status == 0)
        let changed = try ExecutableTests.run(["--clock", "event", "--state", path, "--warn", "2h,30m", "--csw", "36h", "--fep", "4d"], input: "")
        #expect(changed.status == 0, "\(changed.stderr)")
        for refused in [["--clock", "wall"], ["--clock", "event", "--lateness", "1m"]] {
            let before = FileManager.default.contents(atPath: path)
            let run = try ExecutableTests.run(refused + ["--state", path], input: "")
            #expect(run.status == 2 && run.stderr.contains("refusing"), "\(refused): \(run.stderr)")
            #expect(FileManager.default.contents(atPath: path) == before)
        }
    }

    @Test func status_answersForOneContact() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wk-status-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try ExecutableTests.run(["--clock", "event", "--state", path], input: try Fixtures.text("sample.ndjson"))
        let open = try ExecutableTests.run(["status", "--state", path, "--contact", "+55 11 98888 7777", "--at", "2024-05-22T14:00:00.250Z"], input: "")
        #expect(open.status == 0)
        #expect(open.stdout.contains("\"window\":\"free_entry_point\""))
        #expect(open.stdout.contains("\"remaining_s\":86400}"))
        let closed = try ExecutableTests.run(["status", "--state", path, "--contact", "46732001122", "--at", "2024-05-22T00:00:00Z"], input: "")
        #expect(closed.status == 1)
        #expect(closed.stdout.isEmpty)
    }
}

/// A shard's checkpoint image written to a file (as for large states) encodes to the same
/// state file as its image in memory.
@Suite struct SpilledSnapshotTests {
    @Test func shardSnapshot_writtenToAFile_encodesLikeTheImageInMemory() async throws {
        var windows: [SavedWindow] = []
        for i in 0..<5_000 {
            windows.append(SavedWindow(kind: i % 2 == 0 ? .customerService : .freeEntryPoint, pmp: false, open: true,
                                       warnDone: 0, opened: 1_700_000_000_000 + Int64(i), expires: 1_700_086_400_000 + Int64(i),
                                       last: 1_700_000_000_000 + Int64(i), app: "APP\(i % 3)", contact: "4670\(i)",
                                       contactID: "C\(i)", category: i % 2 == 0 ? "" : "FREE_ENTRY_POINT",
                                       conversationID: i % 2 == 0 ? "" : "fep-\(i)"))
        }
        let semantics = StateFile.Semantics(engine: EngineOptions(), mode: .event, lateness: 0)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wk-spill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("state.bin").path
        let keeper = StateKeeper(path: path, semantics: semantics)
        #expect(keeper.write([WindowImage(windows)], clock: 1_700_000_000_000, newest: 1_700_000_000_000) == nil)
        let (file, header) = try #require(try keeper.load())
        var shards: [Shard] = []
        for k in 0..<2 {
            let shard = Shard(options: EngineOptions(), mode: .event, lateness: 0, sink: MemorySink())
            await shard.beginRestore(header, shards: 2)
            await shard.restore(file, header, records: StateFile.parts(file.bytes, header, count: 1)[0], index: k, count: 2)
            await shard.finishRestore(header, spillTo: k == 0 ? dir.path : nil, atLeast: 0)
            shards.append(shard)
        }
        func snapshots(spillTo directory: String?) async -> [WindowImage] {
            var images: [WindowImage] = []
            for shard in shards {
                let box = ImageBox()
                await shard.handle(.snapshot(spillTo: directory, atLeast: 0) { image, _ in box.image = image })
                images.append(box.image!)
            }
            return images
        }
        let inMemory = await snapshots(spillTo: nil)
        let first = await snapshots(spillTo: dir.path)
        // The next checkpoint writes over the same files: the first images must now fail to
        // read back (a checkpoint error), never give the second's bytes.
        let spilled = await snapshots(spillTo: dir.path)
        #expect(zip(first, spilled).allSatisfy { $0.spill === $1.spill })
        #expect(StateFile.encode(semantics: semantics, clock: 1, newest: 1, images: first).readFailed)
        #expect(inMemory.allSatisfy { $0.spill == nil && !$0.records.isEmpty })
        #expect(spilled.allSatisfy { $0.spill != nil && $0.records.isEmpty })
        let a = StateFile.encode(semantics: semantics, clock: 1, newest: 1, images: inMemory).bytes
        let b = StateFile.encode(semantics: semantics, clock: 1, newest: 1, images: spilled).bytes
        #expect(a == b)
        #expect(try StateFile.decode(b).windows.count == windows.count)
        // Nothing is left in the directory: the image files have no name.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["state.bin"])
    }

    final class ImageBox: @unchecked Sendable { var image: WindowImage? }
}
