import ChildProcess
import Foundation
import WindowCore

/// `bench`: the release windowkeeper as a child process fed through a real pipe, beside the
/// same bytes through `cat` (the floor), measured in the same run.
enum Bench {
    static func run(lines: Int, seed: UInt64, shards: Int?, binary: String?, runs: Int) throws {
        var g = Generator.Options()
        g.seed = seed
        g.faults = .light
        g.contacts = max(10, lines / 25)
        g.days = 3
        var generator = Generator(options: g)
        var records = generator.generate()
        if records.count > lines { records.removeLast(records.count - lines) }
        var writer = LineWriter(seed: seed)
        var data: [UInt8] = []
        data.reserveCapacity(records.count * 520)
        for r in records { data.append(contentsOf: writer.line(r)); data.append(0x0A) }
        let path = ChildProcess.sibling("windowkeeper", given: binary)
        var args = ["--clock", "event"]
        if let shards { args += ["--shards", String(shards)] }
        print("stream: \(records.count) lines, \(data.count / 1_000_000) MB, seed \(seed); windowkeeper \(args.joined(separator: " "))")

        func feed(_ exe: String, _ arguments: [String]) throws -> (seconds: Double, usage: ChildProcess.Usage) {
            try data.withUnsafeBytes { try ChildProcess.timed(exe, arguments, feed: $0) }
        }
        var catTimes: [Double] = [], wkTimes: [Double] = [], cpu: [Double] = [], rss: [Int] = []
        for _ in 0..<runs {
            catTimes.append(try feed("/bin/cat", []).seconds)
            let r = try feed(path, args)
            guard r.usage.status == 0 else { throw SimError("windowkeeper exited with status \(r.usage.status)") }
            wkTimes.append(r.seconds)
            cpu.append(r.usage.userSeconds + r.usage.systemSeconds)
            rss.append(r.usage.peakRSSKiB)
        }
        func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
        let n = Double(records.count)
        let catRate = n / median(catTimes), wkRate = n / median(wkTimes)
        func m(_ v: Double) -> String { String(format: "%.3f", v / 1e6) }
        print("cat (floor):   median \(m(catRate)) M lines/s   [min \(m(n / catTimes.max()!)), max \(m(n / catTimes.min()!))]")
        print("windowkeeper:  median \(m(wkRate)) M records/s [min \(m(n / wkTimes.max()!)), max \(m(n / wkTimes.min()!))], "
              + "CPU \(String(format: "%.2f", median(cpu))) s, peak RSS \(rss.max()! / 1024) MiB")
        print("ratio windowkeeper / cat: \(String(format: "%.3f", wkRate / catRate)) (\(runs) runs each, interleaved)")
    }
}
