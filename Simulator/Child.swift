import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process with pipes, spawned with posix_spawn so that its resource usage (CPU,
/// peak memory) can be read back with wait4.
final class Child: @unchecked Sendable {
    let pid: pid_t
    /// Write end of the child's standard input.
    let stdin: Int32
    /// Read end of the child's standard output (-1 when it goes to /dev/null).
    let stdout: Int32

    struct Usage {
        var status: Int32
        var userSeconds: Double
        var systemSeconds: Double
        var peakRSSKiB: Int
    }

    init(_ path: String, _ arguments: [String], captureOutput: Bool) throws {
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0 else { throw SimError("pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        if captureOutput {
            posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        for fd in [inPipe[0], inPipe[1], outPipe[0], outPipe[1]] { posix_spawn_file_actions_addclose(&actions, fd) }
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
        close(inPipe[0])
        close(outPipe[1])
        guard rc == 0 else {
            close(inPipe[1]); close(outPipe[0])
            throw SimError("cannot start \(path): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        stdin = inPipe[1]
        if captureOutput {
            stdout = outPipe[0]
        } else {
            close(outPipe[0])
            stdout = -1
        }
        #if os(Linux)
        _ = fcntl(stdin, 1031 /* F_SETPIPE_SZ */, 1 << 20)
        #endif
    }

    /// Writes everything (blocking); false when the child went away.
    @discardableResult
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var p = bytes.baseAddress!, left = bytes.count
        while left > 0 {
            let n = Glibc.write(stdin, p, left)
            if n < 0 { if errno == EINTR { continue }; return false }
            p += n
            left -= n
        }
        return true
    }

    func closeInput() { close(stdin) }

    /// Peak resident memory of the child's own program (VmHWM), sampled from /proc every
    /// 10 ms until it exits. (wait4's ru_maxrss would include the parent's memory, which a
    /// vfork-style spawn shares until exec.)
    func startPeakMonitor() {
        let pid = self.pid
        let box = peak
        let t = Thread {
            while true {
                guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                      let kib = Int(line.split(separator: " ").dropFirst().first ?? "") else { return }
                box.raise(kib)
                usleep(10_000)
            }
        }
        t.start()
    }

    final class Peak: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func raise(_ v: Int) { lock.lock(); value = max(value, v); lock.unlock() }
        var kib: Int { lock.lock(); defer { lock.unlock() }; return value }
    }
    let peak = Peak()

    func wait() -> Usage {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0, errno == EINTR {}
        if stdout >= 0 { close(stdout) }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return Usage(status: status, userSeconds: seconds(usage.ru_utime), systemSeconds: seconds(usage.ru_stime),
                     peakRSSKiB: peak.kib)
    }

    /// The windowkeeper binary next to this simulator, unless told otherwise.
    static func windowkeeperPath(_ given: String?) -> String {
        if let given { return given }
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let sibling = here.appendingPathComponent("windowkeeper").path
        return FileManager.default.isExecutableFile(atPath: sibling) ? sibling : "windowkeeper"
    }

    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000 + Int64(ts.tv_nsec) / 1_000_000
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
