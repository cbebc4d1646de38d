#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import WindowCore

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
            guard failure.withLock({ $0 }) == nil else { return }
            if let e = FileIO.writeAll(fd, bytes) { failure.withLock { $0 = e } }
        }
    }

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

}
