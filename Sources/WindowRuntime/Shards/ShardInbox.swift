import Dispatch
import WindowCore

/// The channel to one shard: messages in the order they were sent, with backpressure on
/// batches. At most `slotCount` batches are in flight; the reader thread blocks in `send`
/// until the shard has applied one, so a slow shard slows the reader and memory stays flat.
/// Queries and snapshots (`offer`) never wait for a slot: they queue behind what was sent.
final class ShardInbox: Sendable {
    private let stream: AsyncStream<ShardMessage>
    private let continuation: AsyncStream<ShardMessage>.Continuation
    private let slots = DispatchSemaphore(value: ShardInbox.slotCount)

    static let slotCount = 8

    init() {
        (stream, continuation) = AsyncStream<ShardMessage>.makeStream()
    }

    /// Reader thread: waits for a free slot, then sends the batch.
    func send(_ batch: ShardBatch) {
        slots.wait()
        continuation.yield(.batch(batch))
    }

    /// Sends without waiting; false once the inbox takes no more messages.
    @discardableResult
    func offer(_ message: ShardMessage) -> Bool {
        if case .enqueued = continuation.yield(message) { return true }
        return false
    }

    /// The last message: event mode moves the clock to `clock` first; then the inbox closes.
    func finish(clock: Int64?) {
        continuation.yield(.finish(clock: clock))
        continuation.finish()
    }

    /// Hands every message to `shard` in order, freeing a slot after each batch, until the
    /// inbox is finished (one task per shard).
    func deliver(to shard: Shard) async {
        for await message in stream {
            if case .batch(let batch) = message, batch.hasPeople {
                // A batch whose user ids join a phone's windows from another shard waits for
                // them where they are due (the task suspends; the shard serves others).
                var waiting = await shard.processPeople(batch)
                while let handOff = waiting { waiting = await shard.resume(moved: await handOff.windows()) }
                slots.signal()
                continue
            }
            await shard.handle(message)
            if case .batch = message { slots.signal() }
        }
    }
}
