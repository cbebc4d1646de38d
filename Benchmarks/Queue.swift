import ChildProcess
import Foundation

/// Behind a queue: `windowkeeper key` from a file (beside cat of the same file), and what
/// `--positions` costs end to end (the same stream with and without prefixes, interleaved).
enum Queue {
    static func run(file path: String, runs: Int) {
        let windowkeeper = ChildProcess.sibling("windowkeeper")
        let data = loadLines(path)
        var lines = 0
        for b in data where b == 0x0A { lines += 1 }

        var key: [Double] = [], cat: [Double] = []
        for _ in 0..<runs {
            cat.append(EndToEnd.time("/bin/cat", [], input: .file(path)).seconds)
            key.append(EndToEnd.time(windowkeeper, ["key", "--partitions", "16"], input: .file(path)).seconds)
        }
        let k = Measurement(name: "windowkeeper key --partitions 16, file", unit: "lines", items: lines, seconds: key)
        let c = Measurement(name: "baseline: cat file", unit: "lines", items: lines, seconds: cat)
        print(c.line)
        print(k.line)
        record("`windowkeeper key --partitions 16` from a file", rates(k, "lines"), "cat " + rates(c, "lines") + " (target: at least 1 M lines/s)")

        // The same lines behind SOURCE<TAB>POSITION<TAB> prefixes, as a consumer writes them.
        let prefixed = FileManager.default.temporaryDirectory.appendingPathComponent("windowkeeper-bench-positions.ndjson").path
        var out = [UInt8]()
        out.reserveCapacity(data.count + lines * 24)
        var start = 0, n = 0
        for (i, b) in data.enumerated() where b == 0x0A {
            out.append(contentsOf: Array("callbacks/\(n % 4)\t\(100_000 + n)\t".utf8))
            out.append(contentsOf: data[start...i])
            start = i + 1
            n += 1
        }
        guard FileManager.default.createFile(atPath: prefixed, contents: Data(out)) else { fail("cannot write \(prefixed)") }
        defer { try? FileManager.default.removeItem(atPath: prefixed) }
        let (records, _) = EndToEnd.recordCount(windowkeeper, path)
        var plain: [Double] = [], positioned: [Double] = []
        for _ in 0..<runs {
            plain.append(EndToEnd.time(windowkeeper, ["--clock", "event", "--shards", "2"], input: .file(path)).seconds)
            positioned.append(EndToEnd.time(windowkeeper, ["--clock", "event", "--shards", "2", "--positions"], input: .file(prefixed)).seconds)
        }
        let p = Measurement(name: "windowkeeper --positions, file", unit: "records", items: records, seconds: positioned)
        let w = Measurement(name: "baseline: without --positions", unit: "records", items: records, seconds: plain)
        let ratios = zip(positioned, plain).map { $1 / $0 }.sorted()
        print(w.line)
        print(p.line, " throughput ratio \(fmt(ratios[ratios.count / 2], 3)) [\(fmt(ratios.first!, 3))–\(fmt(ratios.last!, 3))]")
        record("end to end with `--positions`, file, `--shards 2`", rates(p, "records") + ", throughput ratio \(fmt(ratios[ratios.count / 2], 3)) [\(fmt(ratios.first!, 3))–\(fmt(ratios.last!, 3))] (pairs)",
               "without: " + rates(w, "records") + " (target: ratio at least 0.95)")
    }
}
