import Dispatch
import Synchronization
import WindowCore

/// Gathers the shards' snapshots for one checkpoint.
final class SnapshotCollector: Sendable {
    private struct Gathered {
        var windows: [WindowImage?]
        var longest: UInt64 = 0
    }

    private let done = DispatchSemaphore(value: 0)
    private let gathered: Mutex<Gathered>
    private let count: Int

    init(count: Int) {
        self.count = count
        gathered = Mutex(Gathered(windows: Array(repeating: nil, count: count)))
    }

    func add(_ w: WindowImage, shard: Int, took nanos: UInt64) {
        gathered.withLock {
            $0.windows[shard] = w
            $0.longest = max($0.longest, nanos)
        }
        done.signal()
    }

    /// Every shard's image in shard order (so that the file does not depend on which shard
    /// answered first), and the longest time one shard took for its own.
    func wait() -> ([WindowImage], UInt64) {
        for _ in 0..<count { done.wait() }
        return gathered.withLock { ($0.windows.map { $0! }, $0.longest) }
    }
}
