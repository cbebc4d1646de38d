import ChildProcess
import Foundation
import WindowCore

/// `live`: timer accuracy in wall mode. Starts `windowkeeper --clock wall` with compressed
/// windows, feeds one contact message per window so that expiries fall at known wall-clock
/// moments, keeps standard input open, and measures when each expiring/expired event arrives.
enum Live {
    static func run(windows: Int, spreadMillis: Int64, burst: Bool, csw: Int64, warn: Int64, shards: Int?, binary: String?) throws -> Bool {
        let path = ChildProcess.sibling("windowkeeper", given: binary)
        var args = ["--clock", "wall", "--csw", DurationText.format(csw), "--warn", DurationText.format(warn)]
        if let shards { args += ["--shards", String(shards)] }
        let child = try ChildProcess(path, args, output: .pipe)
        // Expiries start 10 s out, so the warnings (warn before) are still in the future.
        let first = SystemClock.nowMillis() + max(10_000, warn + 5_000)
        var expiry: [String: Int64] = [:]
        var input: [UInt8] = []
        input.reserveCapacity(windows * 200)
        for i in 0..<windows {
            let contact = "4670" + String(i).leftPad(8)
            let e = burst ? first + Int64(i % 1_000) : first + Int64(i) * spreadMillis / Int64(max(windows, 1))
            expiry[contact] = e
            let t = Timestamp.format(e - csw)
            input.append(contentsOf: "{\"app_id\":\"LIVE\",\"event_time\":\"\(t)\",\"message\":{\"channel_identity\":{\"channel\":\"WHATSAPP\",\"identity\":\"\(contact)\"}}}\n".utf8)
        }
        // Feed from another thread: the feed's window_opened lines must be read meanwhile.
        let feeder = Thread { [input] in input.withUnsafeBytes { _ = child.write($0) } }
        feeder.start()

        // Read the feed until every expiry arrived (or well past the last one).
        let last = expiry.values.max() ?? first
        var lateness: [String: [Double]] = ["window_expiring": [], "window_expired": []]
        /// Due time of the latest event (of each kind), from the first expiry (ms).
        var worst: [String: (late: Double, due: Int64)] = [:]
        var seen: Set<String> = []
        // Sized up front: growing these while reading (a rehash of 100 k strings) stalls the
        // reading loop for tens of ms, and the events that wait meanwhile would count as late.
        seen.reserveCapacity(2 * windows)
        for key in lateness.keys { lateness[key]!.reserveCapacity(windows) }
        var duplicates = 0, early = 0
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var expired = 0
        let deadline = Double(last + 5_000) / 1_000
        while expired < windows {
            var pfd = pollfd(fd: child.stdout, events: Int16(POLLIN), revents: 0)
            let nowSeconds = Double(SystemClock.nowMillis()) / 1_000
            if nowSeconds > deadline { break }
            guard poll(&pfd, 1, 200) > 0 else { continue }
            let n = read(child.stdout, &buffer, buffer.count)
            if n <= 0 { break }
            var ts = timespec()
            clock_gettime(CLOCK_REALTIME, &ts)
            let received = Double(ts.tv_sec) * 1_000 + Double(ts.tv_nsec) / 1e6
            pending.append(contentsOf: buffer[0..<n])
            var start = 0
            pending.withUnsafeBytes { raw in
                let bytes = raw.bindMemory(to: UInt8.self)
                while let nl = bytes[start...].firstIndex(of: 0x0A) {
                    let line = UnsafeBufferPointer(rebasing: bytes[start..<nl])
                    start = nl + 1
                    guard let event = field(line, "event"), event != "window_opened",
                          let contact = field(line, "contact"),
                          let due = field(line, "due_at").flatMap(Timestamp.parse) else { continue }
                    if !seen.insert(event + contact).inserted { duplicates += 1; continue }
                    if received < Double(due) { early += 1 }
                    lateness[event, default: []].append(received - Double(due))
                    if received - Double(due) > worst[event]?.late ?? -.infinity { worst[event] = (received - Double(due), due - first) }
                    if event == "window_expired" { expired += 1 }
                }
            }
            pending.removeFirst(start)
        }
        child.closeInput()
        _ = child.wait()

        let expiring = lateness["window_expiring"] ?? [], expiredTimes = lateness["window_expired"] ?? []
        let missing = 2 * windows - expiring.count - expiredTimes.count
        print("live: \(windows) windows, expiries \(burst ? "in one second" : "spread over \(spreadMillis / 1000) s"), csw \(DurationText.format(csw)), warn \(DurationText.format(warn))")
        print("missing \(missing), duplicated \(duplicates), early \(early)")
        for (name, values) in [("window_expiring", expiring), ("window_expired", expiredTimes)] where !values.isEmpty {
            let s = values.sorted()
            func p(_ q: Double) -> String { String(format: "%.1f", s[min(s.count - 1, Int(Double(s.count) * q))]) }
            let over = s.count - (s.firstIndex { $0 > 10 } ?? s.count)
            let at = worst[name].map { String(format: "%.1f", Double($0.due) / 1_000) } ?? "-"
            print("\(name): \(s.count) events, lateness ms p50 \(p(0.5)) p99 \(p(0.99)) max \(String(format: "%.1f", s.last!)) (due \(at) s after the first expiry); over 10 ms: \(over)")
        }
        if burst, let latest = expiredTimes.max() {
            // Due times lie within one second; the burst is judged from the end of that second.
            print("burst: last expiry delivered \(String(format: "%.1f", latest - 999)) ms after its due second ended")
        }
        return missing == 0 && duplicates == 0 && early == 0
    }

    /// The string value of a top-level key in one of our own event lines.
    static func field(_ line: UnsafeBufferPointer<UInt8>, _ key: StaticString) -> String? {
        let k = UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
        let n = line.count, m = k.count
        var i = 0
        while i + m + 4 <= n {
            if line[i] == 0x22, line[i + m + 1] == 0x22, line[i + m + 2] == 0x3A, line[i + m + 3] == 0x22,
               (0..<m).allSatisfy({ line[i + 1 + $0] == k[$0] }) {
                let from = i + m + 4
                var to = from
                while to < n, line[to] != 0x22 { to += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: line[from..<to]), as: UTF8.self)
            }
            i += 1
        }
        return nil
    }
}
