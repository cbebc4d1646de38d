import ChildProcess
import Foundation
import WindowCore

/// End to end: the release `windowkeeper` binary (next to this harness) on a file and through
/// a pipe, for several shard counts, each run interleaved with `cat` of the same bytes.
enum EndToEnd {
    /// The stream every suite uses when no `--file` is given: the simulator's, with light
    /// faults (about 1 M lines, 455 MB).
    static let generateArguments = ["generate", "--seed", "5", "--contacts", "45000", "--days", "3", "--faults", "light",
                                    "--era", "mixed"]

    static func defaultStream() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("windowkeeper-bench-stream.ndjson").path
        let sim = ChildProcess.sibling("windowkeeper-sim")
        print("stream: \(sim) \(generateArguments.joined(separator: " ")) > \(path)")
        do {
            let child = try ChildProcess(sim, generateArguments, output: .file(path))
            let usage = child.wait()
            guard usage.status == 0 else { fail("windowkeeper-sim generate exited with status \(usage.status)") }
        } catch {
            fail("\(error)")
        }
        return path
    }

    /// `ChildProcess.timed`, and the end of the harness if the child fails.
    static func time(_ exe: String, _ arguments: [String], input: ChildProcess.Input, feed: [UInt8]? = nil,
                     copies: Int = 1, holdInput: Double = 0, errors: ChildProcess.Output = .discard,
                     readOutput: (@Sendable (Int32) -> Void)? = nil) -> (seconds: Double, usage: ChildProcess.Usage) {
        do {
            let run = try feed.map { data in
                try data.withUnsafeBytes {
                    try ChildProcess.timed(exe, arguments, input: input, feed: $0, copies: copies, holdInput: holdInput, errors: errors,
                                           readOutput: readOutput)
                }
            } ?? ChildProcess.timed(exe, arguments, input: input, holdInput: holdInput, errors: errors, readOutput: readOutput)
            guard run.usage.status == 0 else { fail("\(exe) exited with status \(run.usage.status)") }
            return run
        } catch {
            fail("\(error)")
        }
    }

    /// Records and contacts in the stream, as windowkeeper's own summary counts them.
    static func recordCount(_ windowkeeper: String, _ path: String) -> (records: Int, contacts: Int) {
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("windowkeeper-bench-summary.txt").path
        _ = time(windowkeeper, ["--clock", "event"], input: .file(path), errors: .file(errors))
        defer { try? FileManager.default.removeItem(atPath: errors) }
        guard let text = try? String(contentsOfFile: errors, encoding: .utf8),
              let range = text.range(of: "\"records\":{\"total\":"),
              let contacts = text.range(of: "\"contacts\":") else { fail("no summary from \(windowkeeper)") }
        return (Int(text[range.upperBound...].prefix { $0.isNumber }) ?? 0, Int(text[contacts.upperBound...].prefix { $0.isNumber }) ?? 0)
    }

    static func run(file path: String, shards: [Int], runs: Int) {
        let windowkeeper = ChildProcess.sibling("windowkeeper")
        let data = loadLines(path)
        let (records, contacts) = recordCount(windowkeeper, path)  // also the warm-up: the file is in the page cache now
        // Peak RSS of a run on empty input: what memory per contact is counted above (input
        // held open for a moment, so that the memory is read before the run ends).
        let empty = time(windowkeeper, ["--clock", "event", "--shards", "2"], input: .pipe, holdInput: 0.3).usage.peakRSSKiB
        guard empty > 0 else { fail("no peak RSS read for an empty run of \(windowkeeper)") }
        var modePeaks: [String: Int] = [:]
        var lines = 0
        for b in data where b == 0x0A { lines += 1 }
        print("end to end: \(windowkeeper), \(records) records (\(lines) lines) in \(data.count / 1_000_000) MB; each run beside cat of the same bytes")
        for mode in ["file", "pipe"] {
            for k in shards {
                var wk: [Double] = [], cat: [Double] = [], cpu: [Double] = [], peak = 0
                let input: ChildProcess.Input = mode == "file" ? .file(path) : .pipe
                let feed = mode == "file" ? nil : data
                for _ in 0..<runs {
                    cat.append(time("/bin/cat", [], input: input, feed: feed).seconds)
                    let r = time(windowkeeper, ["--clock", "event", "--shards", String(k)], input: input, feed: feed)
                    wk.append(r.seconds); cpu.append(r.usage.cpuSeconds); peak = max(peak, r.usage.peakRSSKiB)
                }
                let w = Measurement(name: "windowkeeper \(mode), --shards \(k)", unit: "records", items: records, seconds: wk)
                let c = Measurement(name: "baseline: cat \(mode)", unit: "lines", items: lines, seconds: cat)
                let cpuPerRecord = cpu.sorted()[cpu.count / 2] / Double(records) * 1e9
                if mode == "file", k == shards.max() { budget.endToEnd = (cpuPerRecord, k) }
                modePeaks[mode] = max(modePeaks[mode] ?? 0, peak)
                print(c.line)
                print(w.line, " time ratio cat / windowkeeper \(fmt(c.median / w.median, 3)), CPU \(fmt(cpuPerRecord, 0)) ns/record, peak RSS \(peak / 1024) MiB")
                record("end to end, \(mode), `--shards \(k)`", rates(w, "records") + ", CPU \(fmt(cpuPerRecord, 0)) ns/record",
                       "cat " + rates(c, "lines") + " (time ratio \(fmt(c.median / w.median, 3)))")
            }
        }
        if let file = modePeaks["file"], let pipe = modePeaks["pipe"], contacts > 0 {
            let perContact = { (kib: Int) in (kib - empty) * 1024 / contacts }
            print("memory: \(contacts) contacts: peak RSS from a file \(file / 1024) MiB (\(perContact(file)) B per contact), through a pipe \(pipe / 1024) MiB (\(perContact(pipe)) B per contact), empty input \(empty / 1024) MiB")
            record("end to end: peak RSS per contact above an empty run, file vs pipe (\(contacts) contacts, \(data.count / 1_000_000) MB)",
                   "file \(perContact(file)) B (\(file / 1024) MiB), pipe \(perContact(pipe)) B (\(pipe / 1024) MiB)",
                   "empty input: \(empty / 1024) MiB")
        }
        contactMemory(windowkeeper, empty: empty)
        // Backpressure: the harness writes into the pipe as fast as the pipe takes it (cat's
        // rate, 4-5 times windowkeeper's here), so without backpressure memory would grow
        // with the input. Peak RSS for the stream once and four times over.
        var peaks: [Int] = []
        for copies in [1, 4] {
            var peak = 0
            for _ in 0..<max(1, runs / 2) {
                peak = max(peak, time(windowkeeper, ["--clock", "event"], input: .pipe, feed: data, copies: copies).usage.peakRSSKiB)
            }
            peaks.append(peak)
            print("backpressure: input \(copies)× (\(copies * data.count / 1_000_000) MB through a pipe): peak RSS \(peak / 1024) MiB")
        }
        record("backpressure: peak RSS, input 4× vs 1× through a pipe", "\(peaks[1] / 1024) MiB vs \(peaks[0] / 1024) MiB (ratio \(fmt(Double(peaks[1]) / Double(peaks[0]), 2)))",
               "input \(4 * data.count / 1_000_000) MB vs \(data.count / 1_000_000) MB")
        slowReader(windowkeeper, data)
    }

    /// Memory per tracked contact: a stream of one WhatsApp message from each of
    /// `WK_RSS_CONTACTS` (default 2 M) distinct contacts, 10 ms apart, so that every contact
    /// still has its customer service window open at the end; peak RSS above an empty run,
    /// replayed from a file (the mapped input must not stay resident) and through a pipe.
    static func contactMemory(_ windowkeeper: String, empty: Int) {
        let count = Int(ProcessInfo.processInfo.environment["WK_RSS_CONTACTS"] ?? "") ?? 2_000_000
        guard count > 0 else { return }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("windowkeeper-bench-contacts-\(getpid()).ndjson").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var data: [UInt8] = []
        data.reserveCapacity(count * 330)  // lines are 300–320 bytes
        let start: Int64 = 1_751_328_000_000  // 2025-07-01T00:00:00Z
        for i in 0..<count {
            let line = "{\"app_id\":\"01EB37HMH1M6SV18BSNS3G135H\",\"event_time\":\"\(Timestamp.format(start + Int64(i) * 10))\","
                + "\"message\":{\"id\":\"01HXIN\(i)\",\"direction\":\"TO_APP\",\"contact_message\":{\"text_message\":{\"text\":\"Hi\"}},"
                + "\"channel_identity\":{\"channel\":\"WHATSAPP\",\"identity\":\"\(46_700_000_000 + i)\",\"app_id\":\"\"},"
                + "\"contact_id\":\"01HXCT\(i)\"},\"message_metadata\":\"\"}\n"
            data.append(contentsOf: line.utf8)
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let failed: Int32? = fd < 0 ? errno : data.withUnsafeBytes { FileIO.writeAll(fd, $0) }
        if fd >= 0 { close(fd) }
        if let failed { fail("cannot write \(path): errno \(failed)") }
        let arguments = ["--clock", "event", "--shards", "2"]
        var file = 0, pipe = 0
        for _ in 0..<2 {
            file = max(file, time(windowkeeper, arguments, input: .file(path)).usage.peakRSSKiB)
            pipe = max(pipe, time(windowkeeper, arguments, input: .pipe, feed: data).usage.peakRSSKiB)
        }
        let perContact = { (kib: Int) in (kib - empty) * 1024 / count }
        print("memory: \(count) contacts (one message each, \(data.count / 1_000_000) MB): peak RSS from a file \(file / 1024) MiB (\(perContact(file)) B per contact), through a pipe \(pipe / 1024) MiB (\(perContact(pipe)) B per contact), empty input \(empty / 1024) MiB")
        record("end to end: peak RSS per contact above an empty run, \(count) contacts of one message each (\(data.count / 1_000_000) MB), file vs pipe",
               "file \(perContact(file)) B (\(file / 1024) MiB), pipe \(perContact(pipe)) B (\(pipe / 1024) MiB)",
               "empty input: \(empty / 1024) MiB; target: at most 100 B per contact")
    }

    /// Backpressure from the far end: the harness reads windowkeeper's events slowly, so
    /// processing is held far below the rate the input is offered at (written as fast as the
    /// pipe takes it). Unread input piling up in memory would show in the peak RSS, against
    /// the same input with the events read at once.
    static func slowReader(_ windowkeeper: String, _ data: [UInt8]) {
        // About the first 100 MB, cut after a line.
        var end = min(data.count, 100_000_000)
        while end < data.count, data[end - 1] != 0x0A { end += 1 }
        let part = Array(data[..<end])
        var lines = 0
        for b in part where b == 0x0A { lines += 1 }
        let cat = time("/bin/cat", [], input: .pipe, feed: part)
        let fast = time(windowkeeper, ["--clock", "event"], input: .pipe, feed: part)
        // 64 KiB of events per 10 ms at most: about 6.5 MB/s.
        let run = time(windowkeeper, ["--clock", "event"], input: .pipe, feed: part) { fd in
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 { usleep(10_000) }
        }
        let slow = (seconds: run.seconds, peak: run.usage.peakRSSKiB)
        let offered = Double(lines) / cat.seconds, processed = Double(lines) / slow.seconds
        print("backpressure: events read slowly: \(lines) lines in \(fmt(slow.seconds, 1)) s (\(fmt(processed / 1e3, 0)) k lines/s), input offered \(fmt(offered / processed, 0))× faster (cat); peak RSS \(slow.peak / 1024) MiB, events read at once \(fast.usage.peakRSSKiB / 1024) MiB")
        record("backpressure: events read slowly, input offered \(fmt(offered / processed, 0))× faster than processed", "peak RSS \(slow.peak / 1024) MiB for \(part.count / 1_000_000) MB of input (\(fmt(processed / 1e3, 0)) k lines/s)",
               "events read at once: peak RSS \(fast.usage.peakRSSKiB / 1024) MiB; cat through the pipe \(fmt(offered / 1e6, 2)) M lines/s")
    }
}

