#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Writes whole blocks to a file descriptor from any thread; each `write` call's bytes stay
/// together, so lines from different shards never interleave.
public final class FDWriter: Sendable {
    public let fd: Int32
    private let failure = Mutex<Int32?>(nil)
    private let lock = Mutex<Void>(())

    public init(fd: Int32) {
        self.fd = fd
    }

    /// The errno of the first failed write, if any (EPIPE when the reader went away).
    public var error: Int32? { failure.withLock { $0 } }

    /// Writes all of `bytes`; after a failure, further writes are dropped.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        lock.withLock { _ in
            guard failure.withLock({ $0 }) == nil, var p = bytes.baseAddress else { return }
            var left = bytes.count
            while left > 0 {
                let n = Glibc.write(fd, p, left)
                if n < 0 {
                    if errno == EINTR { continue }
                    let e = errno
                    failure.withLock { $0 = e }
                    return
                }
                left -= n
                p += n
            }
        }
    }

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

}
