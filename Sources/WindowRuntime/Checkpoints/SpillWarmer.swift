#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization
import WindowCore

/// Fills a shard's new image file with zeros in the background after a large state was
/// restored, so that the first checkpoint writes over pages already in the page cache
/// instead of allocating them while the shard stands still (at 10 M windows that is most of
/// the first checkpoint's pause). `stop` ends it before the file is written.
final class SpillWarmer: Sendable {
    private let stopped = Mutex(false)
    private let done = DispatchGroup()

    init(file: SpillFile, bytes: Int) {
        done.enter()
        DispatchQueue.global(qos: .utility).async { [self] in
            defer { done.leave() }
            let chunk = 1 << 20
            let zeros = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
            defer { zeros.deallocate() }
            zeros.initializeMemory(as: UInt8.self, repeating: 0, count: chunk)
            var offset = 0
            while offset < bytes, !isStopped {
                let n = pwrite(file.fd, zeros, min(chunk, bytes - offset), off_t(offset))
                if n <= 0 { return }  // a full disk: the checkpoint will find out for itself
                offset += n
            }
        }
    }

    private var isStopped: Bool { stopped.withLock { $0 } }

    /// Stops the filling and waits for the chunk being written (about a millisecond).
    func stop() {
        stopped.withLock { $0 = true }
        done.wait()
    }
}
