import Dispatch
import Foundation
import WindowCore

/// Gathers the shards' snapshots for one checkpoint.
final class SnapshotCollector: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var windows: [WindowImage?]
    private var longest: UInt64 = 0
    private let count: Int

    init(count: Int) {
        self.count = count
        windows = Array(repeating: nil, count: count)
    }

    func add(_ w: WindowImage, shard: Int, took nanos: UInt64) {
        lock.lock()
        windows[shard] = w
        longest = max(longest, nanos)
        lock.unlock()
        done.signal()
    }

    /// Every shard's image in shard order (so that the file does not depend on which shard
    /// answered first), and the longest time one shard took for its own.
    func wait() -> ([WindowImage], UInt64) {
        for _ in 0..<count { done.wait() }
        lock.lock()
        defer { lock.unlock() }
        return (windows.map { $0! }, longest)
    }
}
