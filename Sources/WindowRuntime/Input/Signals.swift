#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1
private let interruptCount = Atomic<Int>(0)

/// SIGTERM and SIGINT as a readable file descriptor (the self-pipe trick), so the reader can
/// wait for input and for a stop request at once. A second SIGINT exits at once (130).
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
            var byte = UInt8(truncatingIfNeeded: sig)
            _ = write(signalPipeWriteEnd, &byte, 1)
        }
        signal(SIGTERM, handler)
        signal(SIGINT, handler)
        return readEnd
    }

    nonisolated(unsafe) private static var readEnd: Int32 = -1
}
