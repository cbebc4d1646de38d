import Dispatch
import Synchronization

/// Writes checkpoint files off the reader's thread, one at a time: input stops only while
/// the shards take their snapshots, not while the file is merged, written and synced.
final class BackgroundWriter: Sendable {
    private struct State {
        var writing = false
        var failure: String?
    }

    private let queue = DispatchQueue(label: "windowkeeper.checkpoint", qos: .utility)
    private let writes = DispatchGroup()
    private let state = Mutex(State())

    /// A file is being written now.
    var isWriting: Bool { state.withLock { $0.writing } }

    /// The first error of a write, if any.
    var error: String? { state.withLock { $0.failure } }

    /// Runs `write` (which returns an error message on failure) in the background.
    func start(_ write: @escaping @Sendable () -> String?) {
        state.withLock { $0.writing = true }
        writes.enter()
        queue.async { [self] in
            let result = write()
            state.withLock {
                if $0.failure == nil { $0.failure = result }
                $0.writing = false
            }
            writes.leave()
        }
    }

    /// Waits until no file is being written; the first write error, if any.
    func finish() -> String? {
        writes.wait()
        return error
    }
}
