import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import WindowCore

/// A child process for the simulator and the benchmark harness, spawned with posix_spawn so
/// that its resource usage (CPU, peak memory) can be read back.
/// Unchecked: its pid and pipes are set once at spawn; `wait` is called by one owner.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    /// Write end of the child's standard input (-1 when it reads a file).
    public let stdin: Int32
    /// Read end of the child's standard output (-1 unless `.pipe`).
    public let stdout: Int32

    public enum Input {
        /// A pipe this process writes (`write`, then `closeInput`).
        case pipe
        /// Standard input is this file (a regular file: windowkeeper maps it).
        case file(String)
    }

    public enum Output {
        case discard
        /// A pipe this process reads (`stdout`).
        case pipe
        /// Created or truncated.
        case file(String)
    }

    public struct Usage: Sendable {
        public var status: Int32
        public var userSeconds: Double
        public var systemSeconds: Double
        public var peakRSSKiB: Int
        public var cpuSeconds: Double { userSeconds + systemSeconds }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `errors` (standard error) may be `.discard` or `.file`.
    public init(_ path: String, _ arguments: [String], input: Input = .pipe, output: Output = .discard,
                errors: Output = .discard) throws {
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1]
        if case .pipe = input { guard pipe(&inPipe) == 0 else { throw Failure(description: "pipe failed") } }
        if case .pipe = output { guard pipe(&outPipe) == 0 else { throw Failure(description: "pipe failed") } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        switch input {
        case .pipe: posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        case .file(let p): posix_spawn_file_actions_addopen(&actions, 0, p, O_RDONLY, 0)
        }
        switch output {
        case .discard: posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        case .pipe: posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        case .file(let p): posix_spawn_file_actions_addopen(&actions, 1, p, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        if case .file(let p) = errors {
            posix_spawn_file_actions_addopen(&actions, 2, p, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        for fd in inPipe + outPipe where fd >= 0 { posix_spawn_file_actions_addclose(&actions, fd) }
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
        for fd in [inPipe[0], outPipe[1]] where fd >= 0 { close(fd) }
        guard rc == 0 else {
            for fd in [inPipe[1], outPipe[0]] where fd >= 0 { close(fd) }
            var hint = ""
            if !path.contains("/") { hint = " (not found next to \(CommandLine.arguments[0]); `swift build -c release` builds every program)" }
            throw Failure(description: "cannot start \(path): \(String(cString: strerror(rc)))\(hint)")
        }
        self.pid = pid
        stdin = inPipe[1]
        stdout = outPipe[0]
        #if os(Linux)
        if stdin >= 0 { _ = fcntl(stdin, 1031 /* F_SETPIPE_SZ */, 1 << 20) }
        #endif
    }

    /// Writes everything (blocking); false when the child went away.
    @discardableResult
    public func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        FileIO.writeAll(stdin, bytes) == nil
    }

    public func closeInput() { if stdin >= 0 { close(stdin) } }

    /// Peak resident memory of the child's own program (VmHWM), sampled from /proc every
    /// 10 ms until it exits. (wait4's ru_maxrss would include the parent's memory, which a
    /// vfork-style spawn shares until exec.)
    public func startPeakMonitor() {
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

    final class Peak: Sendable {
        private let value = Mutex(0)
        func raise(_ v: Int) { value.withLock { $0 = max($0, v) } }
        var kib: Int { value.withLock { $0 } }
    }
    let peak = Peak()

    public func wait() -> Usage {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0, errno == EINTR {}
        if stdout >= 0 { close(stdout) }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return Usage(status: status, userSeconds: seconds(usage.ru_utime), systemSeconds: seconds(usage.ru_stime),
                     peakRSSKiB: peak.kib)
    }

    /// Runs `path` to its end and times it: standard input from `input`, and for `.pipe` the
    /// bytes of `feed` written `copies` times, as fast as the pipe takes them. With
    /// `readOutput`, standard output is a pipe that it reads to the end on a thread of its
    /// own (else output is discarded). `holdInput` keeps a pipe open that many seconds after
    /// the feed (so that a run on little input lives long enough for its memory to be read).
    /// Seconds from spawn to exit, the usage and peak memory of the child.
    public static func timed(_ path: String, _ arguments: [String], input: Input = .pipe, feed: UnsafeRawBufferPointer? = nil,
                             copies: Int = 1, holdInput: Double = 0, errors: Output = .discard,
                             readOutput: (@Sendable (Int32) -> Void)? = nil) throws -> (seconds: Double, usage: Usage) {
        let t0 = SystemClock.monotonicSeconds()
        let child = try ChildProcess(path, arguments, input: input, output: readOutput == nil ? .discard : .pipe, errors: errors)
        child.startPeakMonitor()
        let drained = DispatchSemaphore(value: 0)
        if let readOutput {
            let fd = child.stdout
            Thread { readOutput(fd); drained.signal() }.start()
        }
        if case .pipe = input {
            if let feed { for _ in 0..<copies { guard child.write(feed) else { break } } }
            if holdInput > 0 { usleep(UInt32(holdInput * 1e6)) }
            child.closeInput()
        }
        // The reader finishes before `wait` closes its descriptor.
        if readOutput != nil { drained.wait() }
        let usage = child.wait()
        return (SystemClock.monotonicSeconds() - t0, usage)
    }

    /// The program `name` next to this executable (`.build/release/…`), unless told otherwise.
    public static func sibling(_ name: String, given: String? = nil) -> String {
        if let given { return given }
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let path = here.appendingPathComponent(name).path
        return FileManager.default.isExecutableFile(atPath: path) ? path : name
    }
}
