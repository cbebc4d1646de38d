import ChildProcess
import Foundation
import WindowCore
import WindowRuntime

// windowkeeper-bench: see docs/performance.md. Every figure is printed beside a baseline
// measured in the same run, because these machines are shared and noisy.
System.tuneAllocator()
let usage = """
usage: windowkeeper-bench [all | decode apply timestamp timers memory state e2e queue hot resident ...] [--file F] [--runs N] [--shards LIST]

  all        every suite below, then one table of every figure beside its baseline (default)
  decode     line framing, JSON validation, full decode with clock checks (one thread)
  apply      the window engine with event encoding, against a plain loop (one thread);
             with decode: their CPU per record beside what 3 M and 2 M records/s leave
  timestamp  Timestamp.parse against ISO8601DateFormatter
  timers     10 M timers pushed and fired (WK_TIMERS), against sorting them
  memory     resident bytes per tracked contact at 1 M and 10 M contacts (WK_MAX_CONTACTS)
  state      state file write, load and restore of 10 M windows (WK_STATE_WINDOWS, WK_STATE_FILE)
  e2e        the release windowkeeper on a file and through a pipe for --shards LIST
             (default 1,2,4,8), beside cat of the same bytes; peak RSS with 4x the input,
             and with the events read slowly (input offered >100x faster than processed)
  queue      windowkeeper key from a file beside cat; --positions end to end beside the
             same stream without prefixes (pairs of runs, --shards 2)
  hot        1 k, 10 k and 100 k conversation windows of one contact: ns per window, beside
             as many windows spread over as many contacts (it must stay flat)
  resident   a file replay's input pages resident behind the reader (/proc/PID/pagemap
             while it runs) and its peak RSS beside the pipe's; exit 1 when any are behind
             or the file's peak is more than 64 MiB above the pipe's

  --file F   the input stream of decode, apply and e2e; without it the simulator next to
             this harness generates one (seed 5, 45,000 contacts, 3 days, light faults)
  --runs N   timed runs per figure (default 5; e2e uses 3 unless given)
"""
// A child that dies mid-run must end the run with its status, not kill the harness.
signal(SIGPIPE, SIG_IGN)
let args = CommandLine.arguments.dropFirst()
if Array(args) == ["--version"] {
    print(Version.line("windowkeeper-bench"))
    exit(0)
}
var givenFile: String?
var suites: [String] = []
var runs = 5
var runsGiven = false
var shardCounts = [1, 2, 4, 8]
var it = args.makeIterator()
while let a = it.next() {
    switch a {
    case "--file": givenFile = it.next()
    case "--runs":
        runs = max(1, Int(it.next() ?? "") ?? runs)
        runsGiven = true
    case "--shards": shardCounts = (it.next() ?? "").split(separator: ",").compactMap { Int($0) }
    case "-h", "--help":
        print(usage)
        exit(0)
    case "all": suites += ["decode", "apply", "timestamp", "timers", "memory", "state", "e2e", "queue", "hot", "resident"]
    case "decode", "apply", "timestamp", "timers", "memory", "state", "e2e", "queue", "hot", "resident": suites.append(a)
    default:
        FileHandle.standardError.write(Data("windowkeeper-bench: unknown argument \(a)\n\n\(usage)\n".utf8))
        exit(2)
    }
}
if suites.isEmpty { suites = ["decode", "apply", "timestamp", "timers", "memory", "state", "e2e", "queue"] }

/// The input stream: the one given, else one generated on first use.
nonisolated(unsafe) var generatedFile: String?
@MainActor
func streamFile() -> String {
    if let givenFile { return givenFile }
    if let generatedFile { return generatedFile }
    let path = EndToEnd.defaultStream()
    generatedFile = path
    return path
}

/// Runs this harness with `arguments` in a child process, echoes what it prints and returns
/// the rows of its table.
func inFreshProcess(_ arguments: [String]) -> [(figure: String, result: String, baseline: String)] {
    var rows: [(figure: String, result: String, baseline: String)] = []
    do {
        let child = try ChildProcess(ChildProcess.sibling("windowkeeper-bench"), arguments, output: .pipe)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(child.stdout, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        guard child.wait().status == 0 else { fail("windowkeeper-bench \(arguments.joined(separator: " ")) failed") }
        var inTable = false
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("| figure") { inTable = true; continue }
            if inTable {
                let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                if cells.count == 5, !cells[1].hasPrefix("---") { rows.append((cells[1], cells[2], cells[3])) }
            } else if !line.isEmpty {
                print(line)
            }
        }
    } catch {
        fail("\(error)")
    }
    return rows
}

func residentBytes() -> Int {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
          let pages = Int(statm.split(separator: " ")[1]) else { return 0 }
    return pages * 4_096
}

func loadLines(_ path: String) -> [UInt8] {
    guard let d = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    return [UInt8](d)
}

for suite in suites {
    switch suite {
    case "decode":
        let path = streamFile()
        let data = loadLines(path)
        var lineCount = 0
        for b in data where b == 0x0A { lineCount += 1 }
        let baseline = measure("baseline: split lines (memchr)", unit: "lines", items: lineCount, runs: runs) {
            var framer = LineFramer(maxLineBytes: 1 << 20)
            var n: UInt64 = 0
            data.withUnsafeBufferPointer { framer.feed($0) { _ in n += 1 } }
            return n
        }
        print(baseline.line)
        let validate = measure("validate JSON only (skipValue)", unit: "lines", items: lineCount, runs: runs) {
            var framer = LineFramer(maxLineBytes: 1 << 20)
            var n: UInt64 = 0
            data.withUnsafeBufferPointer {
                framer.feed($0) { piece in
                    if case .line(let l) = piece {
                        var s = JSONScanner(l)
                        if s.skipValue() { n &+= UInt64(s.pos) }
                    }
                }
            }
            return n
        }
        print(validate.line)
        // Records in the stream (as the summary counts them), for the CPU budget row.
        var records = 0
        let decode = measure("decode + clock checks (Ingest)", unit: "lines", items: lineCount, runs: runs) {
            var options = IngestOptions()
            options.mode = .event
            var ingest = Ingest(options: options)
            var framer = LineFramer(maxLineBytes: 1 << 20)
            var n: UInt64 = 0
            var count = 0
            data.withUnsafeBufferPointer {
                framer.feed($0) { piece in
                    if case .line(let l) = piece, case .record(let input, _) = ingest.process(l, now: 0) {
                        n &+= input?.contactHash ?? 1
                        count += 1
                    }
                }
            }
            records = count
            return n
        }
        print(decode.line, " MB/s \(fmt(Double(data.count) / decode.median / 1e6, 0))", " ratio to baseline \(fmt(decode.medianRate / baseline.medianRate, 2))")
        record("decode + clock checks, one thread", rates(decode, "lines") + ", \(fmt(Double(data.count) / decode.median / 1e6, 0)) MB/s",
               "line splitting " + rates(baseline, "lines"))
        record("JSON validation alone, one thread", rates(validate, "lines"), "line splitting " + rates(baseline, "lines"))
        budget.decode = (decode.median, records)
        metaDecodeRow(runs: runs)
    case "apply":
        let path = streamFile()
        let data = loadLines(path)
        // Decode once; time only the window engine (and then the event encoding).
        var options = IngestOptions()
        options.mode = .event
        var ingest = Ingest(options: options)
        var framer = LineFramer(maxLineBytes: 1 << 20)
        // Every input with its strings in one arena (the pipeline's own batch), and the clock
        // after its line.
        var kept = ShardBatch()
        var clocks: [Int64] = []
        data.withUnsafeBufferPointer {
            framer.feed($0) { piece in
                guard case .line(let l) = piece else { return }
                if case .record(let input?, _) = ingest.process(l, now: 0) {
                    ingest.decoder.arena.withUnsafeBufferPointer { kept.append(input, line: 0, from: $0) }
                    clocks.append(ingest.clock)
                }
            }
        }
        let arena = kept.arena
        let inputs = Array(zip(kept.inputs, clocks))
        let baseline = measure("baseline: iterate inputs", unit: "records", items: inputs.count, runs: runs) {
            var n: UInt64 = 0
            for (input, c) in inputs { n &+= input.contactHash &+ UInt64(bitPattern: c) }
            return n
        }
        print(baseline.line)
        let m = measure("engine apply + fire + encode", unit: "records", items: inputs.count, runs: runs) {
            var engine = WindowEngine(options: EngineOptions())
            var n: UInt64 = 0
            arena.withUnsafeBufferPointer { a in
                for (input, c) in inputs {
                    engine.apply(input, in: a)
                    engine.advance(to: c)
                    n &+= UInt64(engine.output.count)
                    engine.output.removeAll()
                }
            }
            return n
        }
        print(m.line, " ratio to baseline \(fmt(m.medianRate / baseline.medianRate, 3))")
        record("window engine + event encoding, one thread", rates(m, "records"), "plain loop over the inputs " + rates(baseline, "records"))
        budget.engine = m.median
    case "state":
        // Write and load a state of N open windows (N contacts, one customer service window each).
        let n = Int(ProcessInfo.processInfo.environment["WK_STATE_WINDOWS"] ?? "") ?? 10_000_000
        var windows: [SavedWindow] = []
        windows.reserveCapacity(n)
        for i in 0..<n {
            windows.append(SavedWindow(kind: .customerService, pmp: false, open: true, warnDone: 0, opened: 1_700_000_000_000 + Int64(i),
                                       expires: 1_700_086_400_000 + Int64(i), last: 1_700_000_000_000 + Int64(i),
                                       app: "01EB37HMH1M6SV18BSNS3G135H", contact: "4670\(10_000_000 + i)", contactID: "01HXCT\(i)",
                                       category: "", conversationID: ""))
        }
        let semantics = StateFile.Semantics(engine: EngineOptions(), mode: .event, lateness: 0)
        // WK_STATE_FILE keeps the file (e.g. to measure a real run's checkpoint pause on it).
        let keep = ProcessInfo.processInfo.environment["WK_STATE_FILE"]
        let path = keep ?? FileManager.default.temporaryDirectory.appendingPathComponent("wk-bench-state").path
        let keeper = StateKeeper(path: path, semantics: semantics)
        if let e = keeper.write([WindowImage(windows)], clock: 0, newest: 0) { fail(e) }  // setup, untimed
        windows = []
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        // The pipeline's path, timed step by step with 2 shards (which restore and encode
        // concurrently in the pipeline; here one after the other).
        var t0 = System.monotonicNanos()
        guard let (mapped, header) = try keeper.load() else { fail("no state") }
        let checkSeconds = Double(System.monotonicNanos() - t0) / 1e9
        func restoreShard(_ index: Int, _ seconds: inout Double) -> WindowEngine {
            let start = System.monotonicNanos()
            var engine = WindowEngine(options: EngineOptions())
            engine.restore(file: mapped.bytes, header, shard: index, of: 2)
            seconds = Double(System.monotonicNanos() - start) / 1e9
            return engine
        }
        var r0 = 0.0, r1 = 0.0
        let e0 = restoreShard(0, &r0)
        let e1 = restoreShard(1, &r1)
        // A checkpoint's images in memory (as at exit), then written to files in the state's
        // directory (as periodic checkpoints take them): time, and resident bytes they add.
        var residentBefore = residentBytes()
        t0 = System.monotonicNanos()
        var images = [e0.windowImage(), e1.windowImage()]
        let imageSeconds = Double(System.monotonicNanos() - t0) / 1e9
        let imageResident = residentBytes() - residentBefore
        t0 = System.monotonicNanos()
        if let e = keeper.write(images, clock: 0, newest: 0) { fail(e) }
        let writeSeconds = Double(System.monotonicNanos() - t0) / 1e9
        images = []
        let directory = (path as NSString).deletingLastPathComponent
        guard let f0 = SpillFile.create(in: directory), let f1 = SpillFile.create(in: directory) else {
            fail("cannot make image files in \(directory)")
        }
        // Twice: into new files (the first checkpoint), then over them (every later one).
        var spillSeconds: [Double] = [], spillWriteSeconds: [Double] = []
        residentBefore = residentBytes()
        for _ in 0..<2 {
            f0.rewind()
            f1.rewind()
            t0 = System.monotonicNanos()
            guard let s0 = e0.windowImage(spillingTo: f0), let s1 = e1.windowImage(spillingTo: f1) else {
                fail("cannot write images to \(directory)")
            }
            spillSeconds.append(Double(System.monotonicNanos() - t0) / 1e9)
            t0 = System.monotonicNanos()
            if let e = keeper.write([s0, s1], clock: 0, newest: 0) { fail(e) }
            spillWriteSeconds.append(Double(System.monotonicNanos() - t0) / 1e9)
        }
        let spillResident = residentBytes() - residentBefore
        print("state: \(n) windows, file \(size / 1_000_000) MB")
        print("  load: map + check \(fmt(checkSeconds, 2)) s, restore 2 shards \(fmt(r0, 2)) + \(fmt(r1, 2)) s (concurrent in the pipeline)")
        print("  exit: shard images \(fmt(imageSeconds, 2)) s (+\(imageResident >> 20) MiB resident), merge + checksum + write + fsync \(fmt(writeSeconds, 2)) s")
        print("  checkpoint: shard images written to new files \(fmt(spillSeconds[0], 2)) s, over them \(fmt(spillSeconds[1], 2)) s (+\(spillResident >> 20) MiB resident; concurrent in the pipeline), merge + checksum + write + fsync \(fmt(spillWriteSeconds[0], 2)) / \(fmt(spillWriteSeconds[1], 2)) s")
        t0 = System.monotonicNanos()
        let status = StatusCommand.run(try StatusCommand.parse(["--state", path, "--contact", "4670\(10_000_000 + n / 2)", "--at", "2023-11-14T22:13:20Z"])!)
        let statusSeconds = Double(System.monotonicNanos() - t0) / 1e9
        print("status for one contact: \(fmt(statusSeconds, 3)) s (exit \(status))")
        // Baseline: the same number of bytes written and synced with plain write calls.
        t0 = System.monotonicNanos()
        let plain = path + ".baseline"
        let fd = open(plain, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let block = [UInt8](repeating: 0x5A, count: 1 << 20)
        var left = size
        while left > 0 {
            let n = min(left, block.count)
            if let e = block.withUnsafeBytes({ FileIO.writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) {
                fail("writing \(plain): \(String(cString: strerror(e)))")
            }
            left -= n
        }
        fsync(fd)
        close(fd)
        try? FileManager.default.removeItem(atPath: plain)
        let plainSeconds = Double(System.monotonicNanos() - t0) / 1e9
        print("baseline: write + fsync of \(size / 1_000_000) MB: \(fmt(plainSeconds, 2)) s")
        record("state, \(count(n)) windows (\(size / 1_000_000) MB): load", "check \(fmt(checkSeconds, 2)) s + restore \(fmt(r0, 2)) / \(fmt(r1, 2)) s (2 shards)",
               "plain write + fsync of the same bytes \(fmt(plainSeconds, 2)) s")
        record("state, \(count(n)) windows: exit write", "images in memory \(fmt(imageSeconds, 2)) s (+\(imageResident >> 20) MiB resident), then write + fsync \(fmt(writeSeconds, 2)) s",
               "plain write + fsync \(fmt(plainSeconds, 2)) s")
        record("state, \(count(n)) windows: checkpoint", "images written to new files \(fmt(spillSeconds[0], 2)) s, over the same files \(fmt(spillSeconds[1], 2)) s (+\(spillResident >> 20) MiB resident), then write + fsync \(fmt(spillWriteSeconds[1], 2)) s in the background",
               "plain write + fsync \(fmt(plainSeconds, 2)) s")
        record("`status` for one contact", "\(fmt(statusSeconds, 3)) s", "")
        if keep == nil { try? FileManager.default.removeItem(atPath: path) }
    case "timestamp":
        var texts: [[UInt8]] = []
        var rng = SplitMix64(seed: 1)
        for _ in 0..<200_000 {
            let ms = 1_700_000_000_000 + Int64(rng.next() % 100_000_000_000)
            var t = Timestamp.format(ms)
            if rng.next() % 2 == 0 { t = String(t.dropLast()) + "123456Z" }
            texts.append(Array(t.utf8))
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let strings = texts.map { String(decoding: $0, as: UTF8.self) }
        let foundation = measure("baseline: ISO8601DateFormatter", unit: "timestamps", items: 20_000, runs: runs) {
            var n: UInt64 = 0
            for t in strings.prefix(20_000) { n &+= UInt64(bitPattern: Int64(formatter.date(from: t)?.timeIntervalSince1970 ?? 0)) }
            return n
        }
        print(foundation.line)
        let ours = measure("Timestamp.parse (bytes)", unit: "timestamps", items: texts.count, runs: runs) {
            var n: UInt64 = 0
            for t in texts { n &+= UInt64(bitPattern: t.withUnsafeBufferPointer { Timestamp.parse($0) } ?? 0) }
            return n
        }
        print(ours.line, " ns each \(fmt(1e3 / ours.medianRate, 1)), \(fmt(ours.medianRate / foundation.medianRate, 0))× the baseline")
        record("`Timestamp.parse`", rates(ours, "timestamps") + ", \(fmt(1e3 / ours.medianRate, 1)) ns each", "`ISO8601DateFormatter` " + rates(foundation, "timestamps"))
    case "timers":
        // Schedule, cancel (lazily: a stale entry is skipped when it surfaces) and fire 10 M timers against sorting them.
        let n = Int(ProcessInfo.processInfo.environment["WK_TIMERS"] ?? "") ?? 10_000_000
        var rng = SplitMix64(seed: 2)
        let dues = (0..<n).map { _ in Int64(rng.next() % 1_000_000_000) }
        let sorted = measure("baseline: sort \(n) due times", unit: "timers", items: n, runs: 3, warmup: 0) {
            var d = dues
            d.sort()
            return UInt64(bitPattern: d[n / 2])
        }
        print(sorted.line)
        let heap = measure("TimerHeap push all, pop all (10% stale)", unit: "timers", items: n, runs: 3, warmup: 0) {
            var h = TimerHeap()
            for (i, d) in dues.enumerated() { h.push(TimerEntry(due: d, slot: Int32(truncatingIfNeeded: i))) }
            var fired: UInt64 = 0
            while let e = h.pop() {
                if e.slot % 10 != 0 { fired &+= UInt64(bitPattern: e.due) }  // every tenth slot stands for a stale entry
            }
            return fired
        }
        print(heap.line, " ratio to sort \(fmt(heap.medianRate / sorted.medianRate, 2))")
        record("timer heap, \(count(n)) push + pop (10 % stale)", rates(heap, "timers"), "sorting the due times " + rates(sorted, "timers"))
    case "memory" where suites.count > 1:
        // Memory freed by the other suites stays resident in malloc's heap and would be
        // counted as nothing: measure in a fresh process.
        for row in inFreshProcess(["memory"]) { table.append(row) }
    case "memory":
        // Resident bytes per tracked contact (one open customer service window each, with its timer).
        // contact_ids about as long as the simulator's (at most 13 characters), and as Sinch's
        // (26-character ULIDs, which the engine packs).
        let limit = Int(ProcessInfo.processInfo.environment["WK_MAX_CONTACTS"] ?? "") ?? 10_000_000
        for (n, ulid) in [(1_000_000, false), (10_000_000, false), (1_000_000, true), (10_000_000, true)] where n <= limit {
            let before = residentBytes()
            var engine = WindowEngine(options: EngineOptions())
            var arena: [UInt8] = []
            for i in 0..<n {
                arena.removeAll(keepingCapacity: true)
                arena.append(contentsOf: "01EB37HMH1M6SV18BSNS3G135H".utf8)
                arena.append(contentsOf: "4670\(10_000_000 + i)".utf8)
                arena.append(contentsOf: (ulid ? "01HXCT" + String(repeating: "0", count: 20 - String(i).count) + String(i) : "01HXCT\(i)").utf8)
                let appR = ByteRange(start: 0, count: 26), contactR = ByteRange(start: 26, count: 12)
                let idR = ByteRange(start: 38, count: Int32(arena.count - 38))
                arena.withUnsafeBufferPointer { a in
                    let hash = RoutingHash.contact(app: UnsafeBufferPointer(rebasing: a[0..<26]), contact: UnsafeBufferPointer(rebasing: a[26..<38]))
                    engine.apply(WindowInput(operation: .contactMessage, freeEntryPoint: false, time: 1_700_000_000_000 + Int64(i),
                                             contactHash: hash, app: appR, contact: contactR, contactID: idR), in: a)
                }
                engine.output.removeAll()
            }
            let after = residentBytes()
            let ids = ulid ? "26-character (ULID) contact_ids" : "contact_ids of at most 13 characters"
            print("memory: \(n) contacts, \(ids), \(engine.contactCount) tracked: \((after - before) / n) bytes per contact (RSS \((after - before) >> 20) MiB); baseline: RSS before \(before >> 20) MiB")
            record("memory per tracked contact, \(count(n)) contacts, \(ids) (one open window + timer)", "\((after - before) / n) B (\((after - before) >> 20) MiB)",
                   "RSS before \(before >> 20) MiB")
            blackHole &+= UInt64(engine.contactCount)
        }
    case "e2e":
        EndToEnd.run(file: streamFile(), shards: shardCounts, runs: runsGiven ? runs : 3)
    case "queue":
        Queue.run(file: streamFile(), runs: runsGiven ? runs : 3)
    case "hot":
        HotContact.run(runs: runsGiven ? runs : 3)
    case "resident":
        Resident.run(file: streamFile())
    default:
        fail("unknown suite \(suite)")
    }
}
budget.record()
printTable()
if let generatedFile { try? FileManager.default.removeItem(atPath: generatedFile) }
