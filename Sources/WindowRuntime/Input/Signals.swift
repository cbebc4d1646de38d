#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1
private let interruptCount = Atomic<Int>(0)
private let stopRequested = Atomic<Bool>(false)
private let checkpointRequested = Atomic<Bool>(false)

/// SIGTERM, SIGINT, SIGHUP and SIGUSR1 as a readable file descriptor (the self-pipe trick),
/// so the reader can wait for input and for a signal at once. SIGTERM, SIGINT and SIGHUP ask
/// the run to stop (the state is written, exit 0); a second SIGINT exits at once (130).
/// SIGUSR1 asks for a checkpoint now; the run goes on.
public enum Signals {
    /// Installs the handlers once; returns the read end of the signal pipe.
    public static func install() -> Int32 {
        if signalPipeWriteEnd >= 0 { return readEnd }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return -1 }
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        readEnd = fds[0]
        signalPipeWriteEnd = fds[1]
        signal(SIGPIPE, SIG_IGN)
        let handler: @convention(c) (Int32) -> Void = { sig in
            if sig == SIGINT, interruptCount.add(1, ordering: .relaxed).newValue >= 2 {
                _exit(130)
            }
            if sig == SIGUSR1 {
                checkpointRequested.store(true, ordering: .sequentiallyConsistent)
            } else {
                stopRequested.store(true, ordering: .sequentiallyConsistent)
            }
            var byte = UInt8(truncatingIfNeeded: sig)
            _ = write(signalPipeWriteEnd, &byte, 1)
        }
        signal(SIGTERM, handler)
        signal(SIGINT, handler)
        signal(SIGHUP, handler)
        signal(SIGUSR1, handler)
        return readEnd
    }

    nonisolated(unsafe) private static var readEnd: Int32 = -1

    /// After the signal pipe was readable: empties it; true when a stop was asked for (the
    /// request stays: every later call says so too), false when only checkpoints were.
    public static func takeStop(_ fd: Int32) -> Bool {
        var bytes = [UInt8](repeating: 0, count: 64)
        while read(fd, &bytes, bytes.count) > 0 {}
        return stopRequested.load(ordering: .sequentiallyConsistent)
    }

    /// True once a stop signal came (the pipe may have been emptied already).
    public static var stopping: Bool { stopRequested.load(ordering: .sequentiallyConsistent) }

    /// True (once) when SIGUSR1 asked for a checkpoint since the last call.
    public static func takeCheckpointRequest() -> Bool {
        checkpointRequested.exchange(false, ordering: .sequentiallyConsistent)
    }

    /// A checkpoint was asked for and not yet taken.
    public static var checkpointPending: Bool { checkpointRequested.load(ordering: .sequentiallyConsistent) }
}
