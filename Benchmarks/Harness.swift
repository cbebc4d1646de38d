import Foundation
import WindowRuntime

/// Warm-up, repeated timed runs, min/median/max; the work returns a value that is consumed
/// so the optimiser cannot delete it.
struct Measurement {
    var name: String
    var unit: String
    /// Work items per run (records, lines, timers).
    var items: Int
    var seconds: [Double]

    var sorted: [Double] { seconds.sorted() }
    var median: Double { sorted[sorted.count / 2] }
    func rate(_ s: Double) -> Double { Double(items) / s }

    /// Millions of items per second: median, and the range over runs.
    var medianRate: Double { rate(median) / 1e6 }

    var line: String {
        let name = self.name.padding(toLength: 40, withPad: " ", startingAt: 0)
        return "\(name) \(fmt(medianRate)) M \(unit)/s  [min \(fmt(rate(sorted.last!) / 1e6)), max \(fmt(rate(sorted.first!) / 1e6))], \(seconds.count) runs"
    }
}

func fmt(_ v: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", v) }

nonisolated(unsafe) var blackHole: UInt64 = 0

func measure(_ name: String, unit: String, items: Int, runs: Int, warmup: Int = 1, _ body: () -> UInt64) -> Measurement {
    for _ in 0..<warmup { blackHole &+= body() }
    var seconds: [Double] = []
    for _ in 0..<runs {
        let t0 = System.monotonicNanos()
        blackHole &+= body()
        seconds.append(Double(System.monotonicNanos() - t0) / 1e9)
    }
    return Measurement(name: name, unit: unit, items: items, seconds: seconds)
}

/// The rows of the closing table: one figure, its result and the baseline of the same run.
nonisolated(unsafe) var table: [(figure: String, result: String, baseline: String)] = []

func record(_ figure: String, _ result: String, _ baseline: String) {
    table.append((figure, result, baseline))
}

/// "median M/s [min–max]" of a measurement.
func rates(_ m: Measurement, _ unit: String) -> String {
    "\(fmt(m.medianRate)) M \(unit)/s [\(fmt(m.rate(m.sorted.last!) / 1e6))–\(fmt(m.rate(m.sorted.first!) / 1e6))]"
}

func printTable() {
    guard !table.isEmpty else { return }
    print("\n| figure | result (median [min–max]) | baseline, same run |")
    print("|---|---|---|")
    for row in table { print("| \(row.figure) | \(row.result) | \(row.baseline) |") }
}

/// What limits throughput, from the one-thread suites: their CPU per record against what the
/// targets of 3 M records/s (file) and 2 M (pipe) leave on this machine's cores. The rest of
/// the pipeline (framing, sequencing, batches, I/O) is not counted, so the sum is a floor.
struct CPUBudget {
    /// The decode suite's median seconds and the records in its stream.
    var decode: (seconds: Double, records: Int)?
    /// The engine suite's median seconds (the same records).
    var engine: Double?
    /// End to end from a file: the process's CPU per record (ns), and the shard count.
    var endToEnd: (nanos: Double, shards: Int)?

    func record() {
        guard let decode, let engine, decode.records > 0 else { return }
        let perRecord = { (s: Double) in fmt(s / Double(decode.records) * 1e9, 0) }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let left = { (rate: Double) in fmt(Double(cores) / rate * 1e9, 0) }
        let result = "\(perRecord(decode.seconds)) + \(perRecord(engine)) = \(perRecord(decode.seconds + engine)) ns"
        let baseline = "what \(cores) cores leave per record: \(left(3e6)) ns at 3 M records/s, \(left(2e6)) ns at 2 M"
        print("CPU budget: decode + engine \(result) per record (\(decode.records) records) on one thread; \(baseline)")
        table.append(("CPU per record, one thread: decode + engine and encoding (the rest of the pipeline not counted)", result, baseline))
        if let endToEnd {
            let stages = (decode.seconds + engine) / Double(decode.records) * 1e9
            let own = endToEnd.nanos - stages
            print("pipeline's own cost: \(fmt(own, 0)) ns per record (\(fmt(own / stages * 100, 0)) % of decode + engine)")
            table.append(("the pipeline's own CPU per record: end to end from a file (`--shards \(endToEnd.shards)`) minus one-thread decode + engine",
                          "\(fmt(own, 0)) ns (\(fmt(own / stages * 100, 0)) % of decode + engine)", "target: at most 10 % of decode + engine"))
        }
    }
}

nonisolated(unsafe) var budget = CPUBudget()

/// Ends the harness with a message (no crash report: these are the user's errors or the
/// machine's, not the harness's).
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("windowkeeper-bench: \(message)\n".utf8))
    exit(1)
}

/// "10 M" for whole millions, else the number itself.
func count(_ n: Int) -> String { n >= 1_000_000 && n % 1_000_000 == 0 ? "\(n / 1_000_000) M" : "\(n)" }
