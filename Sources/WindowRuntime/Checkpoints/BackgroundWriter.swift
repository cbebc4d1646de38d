import Dispatch
import Foundation

/// Writes checkpoint files off the reader's thread, one at a time: input stops only while
/// the shards take their snapshots, not while the file is merged, written and synced.
final class BackgroundWriter: @unchecked Sendable {
    private let queue = DispatchQueue(label: "windowkeeper.checkpoint", qos: .utility)
    private let writes = DispatchGroup()
    private let lock = NSLock()
    private var writing = false  // guarded by lock
    private var failure: String?  // guarded by lock

    /// A file is being written now.
    var isWriting: Bool {
        lock.lock()
        defer { lock.unlock() }
        return writing
    }

    /// The first error of a write, if any.
    var error: String? {
        lock.lock()
        defer { lock.unlock() }
        return failure
    }

    /// Runs `write` (which returns an error message on failure) in the background.
    func start(_ write: @escaping @Sendable () -> String?) {
        lock.lock()
        writing = true
        lock.unlock()
        writes.enter()
        queue.async { [self] in
            let result = write()
            lock.lock()
            if failure == nil { failure = result }
            writing = false
            lock.unlock()
            writes.leave()
        }
    }

    /// Waits until no file is being written; the first write error, if any.
    func finish() -> String? {
        writes.wait()
        return error
    }
}
