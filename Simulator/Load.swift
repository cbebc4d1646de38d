import ChildProcess
import Foundation
import WindowCore

/// `load`: a live stream on standard output at a steady rate, event times at the wall clock.
enum Load {
    static func run(rate: Int?, duration: Int64, contacts: Int, seed: UInt64) {
        var g = Generator.Options()
        g.seed = seed
        g.contacts = contacts
        g.faults = .none
        var generator = Generator(options: g)
        let pool = generator.generate()
        var writer = LineWriter(seed: seed)
        let start = SystemClock.monotonicSeconds()
        let end = start + Double(duration) / 1_000
        var sent = 0
        var index = 0
        var out: [UInt8] = []
        while SystemClock.monotonicSeconds() < end {
            let elapsed = SystemClock.monotonicSeconds() - start
            let target = rate.map { Int(Double($0) * elapsed) + 1 } ?? sent + 4_096
            let now = SystemClock.nowMillis()
            out.removeAll(keepingCapacity: true)
            while sent < target {
                var r = pool[index % pool.count]
                r.time = now
                out.append(contentsOf: writer.line(r))
                out.append(0x0A)
                index += 1
                sent += 1
            }
            let ok = out.withUnsafeBytes { FileIO.writeAll(1, $0) == nil }
            if !ok { break }
            if rate != nil { usleep(1_000) }
        }
        let seconds = SystemClock.monotonicSeconds() - start
        FileHandle.standardError.write(Data("load: \(sent) records in \(String(format: "%.2f", seconds)) s = \(Int(Double(sent) / seconds)) records/s\n".utf8))
    }
}
