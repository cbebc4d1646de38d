import ChildProcess
import Foundation

/// A file replay's resident input (issue 31): the release `windowkeeper --clock event
/// --shards 2` on a mapped file, its mapping sampled from /proc/PID/pagemap while it runs,
/// and its peak RSS against the same bytes through a pipe. The reader releases the mapping's
/// pages behind the oldest line still in flight; pages resident far behind the front are
/// pages released too early and faulted back in, which then stay for the rest of the run and
/// make the replay's memory grow with the file. Fails (exit 1) when any are seen, or when
/// the file's peak RSS is more than 64 MiB above the pipe's.
enum Resident {
    /// Farther than this behind the highest resident page of the mapping counts as behind
    /// the reader (the segments in flight and the chunk being framed are a few MiB).
    static let window = 16 << 20
    static let allowedAbovePipe = 64 << 10  // KiB

    static func run(file path: String) {
        let windowkeeper = ChildProcess.sibling("windowkeeper")
        let arguments = ["--clock", "event", "--shards", "2"]
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        // From the file, its mapping sampled every 100 ms.
        let name = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var behind = 0, runs = 0, mapped = 0, samples = 0
        let fileRun: ChildProcess.Usage
        do {
            let child = try ChildProcess(windowkeeper, arguments, input: .file(path))
            child.startPeakMonitor()
            let done = Done()
            let sampler = Thread {
                while !done.value {
                    if let s = sample(pid: child.pid, path: name) {
                        done.note(s)
                    }
                    usleep(100_000)
                }
            }
            sampler.start()
            fileRun = child.wait()
            done.value = true
            (behind, runs, mapped, samples) = done.worst
        } catch {
            fail("\(error)")
        }
        guard fileRun.status == 0 else { fail("\(windowkeeper) exited with status \(fileRun.status)") }
        // Through a pipe, the file written 4 MiB at a time.
        let pipeRun: ChildProcess.Usage
        do {
            let child = try ChildProcess(windowkeeper, arguments, input: .pipe)
            child.startPeakMonitor()
            guard let input = FileHandle(forReadingAtPath: path) else { fail("cannot read \(path)") }
            while true {
                let block = input.readData(ofLength: 4 << 20)
                if block.isEmpty { break }
                guard block.withUnsafeBytes({ child.write($0) }) else { break }
            }
            try? input.close()
            child.closeInput()
            pipeRun = child.wait()
        } catch {
            fail("\(error)")
        }
        guard pipeRun.status == 0 else { fail("\(windowkeeper) exited with status \(pipeRun.status)") }
        let file = fileRun.peakRSSKiB, pipe = pipeRun.peakRSSKiB
        let mib = { (bytes: Int) in fmt(Double(bytes) / 1_048_576, 1) }
        print("resident input: \(size / 1_000_000) MB file, \(samples) pagemap samples: at most \(mib(behind)) MiB in \(runs) runs resident more than \(window >> 20) MiB behind the front, mapping resident at most \(mib(mapped)) MiB; peak RSS file \(file / 1024) MiB, pipe \(pipe / 1024) MiB")
        record("file replay, input resident behind the reader (pagemap every 100 ms, `--shards 2`, \(size / 1_000_000) MB)",
               "\(mib(behind)) MiB in \(runs) runs (mapping at most \(mib(mapped)) MiB); peak RSS file \(file / 1024) MiB, \(file >= pipe ? "+" : "−")\(abs(file - pipe) / 1024) MiB on the pipe",
               "through a pipe: peak RSS \(pipe / 1024) MiB; allowed: nothing behind, file ≤ pipe + 64 MiB")
        if behind > 0 || file - pipe > allowedAbovePipe {
            printTable()
            fail("a file replay's resident input grows with the file: \(mib(behind)) MiB behind the reader, peak RSS file \(file / 1024) MiB vs pipe \(pipe / 1024) MiB")
        }
    }

    /// The worst of the samples (by pages behind), on the sampler's thread and read after.
    final class Done: @unchecked Sendable {
        private let lock = NSLock()
        private var stop = false
        private var worstSample = (behind: 0, runs: 0, mapped: 0, samples: 0)
        var value: Bool {
            get { lock.lock(); defer { lock.unlock() }; return stop }
            set { lock.lock(); stop = newValue; lock.unlock() }
        }
        var worst: (Int, Int, Int, Int) { lock.lock(); defer { lock.unlock() }; return worstSample }
        func note(_ s: (behind: Int, runs: Int, mapped: Int)) {
            lock.lock()
            worstSample.samples += 1
            if s.behind > worstSample.behind { (worstSample.behind, worstSample.runs) = (s.behind, s.runs) }
            worstSample.mapped = max(worstSample.mapped, s.mapped)
            lock.unlock()
        }
    }

    /// The resident pages of `pid`'s mapping of `path`: bytes and runs more than `window`
    /// behind the highest resident page, and bytes in all; nil when it is not mapped (yet).
    static func sample(pid: pid_t, path: String) -> (behind: Int, runs: Int, mapped: Int)? {
        guard let maps = try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8),
              let line = maps.split(separator: "\n").first(where: { $0.hasSuffix(" " + path) }),
              let range = line.split(separator: " ").first else { return nil }
        let bounds = range.split(separator: "-").compactMap { UInt(String($0), radix: 16) }
        guard bounds.count == 2 else { return nil }
        let page = UInt(sysconf(Int32(_SC_PAGESIZE)))
        let first = bounds[0] / page, count = Int((bounds[1] - bounds[0]) / page)
        let fd = open("/proc/\(pid)/pagemap", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var entries = [UInt64](repeating: 0, count: count)
        let want = count * 8
        let got = entries.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(first * 8)) }
        guard got == want else { return nil }
        guard let top = entries.lastIndex(where: { $0 >> 63 != 0 }) else { return (0, 0, 0) }
        let limit = top - window / Int(page)
        var behind = 0, runs = 0, mapped = 0, previous = false
        for i in 0..<count {
            let present = entries[i] >> 63 != 0
            if present {
                mapped += 1
                if i < limit {
                    behind += 1
                    if !previous { runs += 1 }
                }
            }
            previous = present
        }
        return (behind * Int(page), runs, mapped * Int(page))
    }
}
