import Synchronization
import Testing
import WindowCore
@testable import WindowRuntime

@Suite struct ShardInboxTests {
    /// A batch holding only the clock tick `clock` (event mode).
    static func tick(_ clock: Int64) -> ShardBatch {
        var batch = ShardBatch()
        batch.ticks = [Tick(line: 0, clock: clock)]
        return batch
    }

    @Test func moreBatchesThanSlots_allArrive_inOrder_andAQueryQueuesBehindThem() async {
        let shard = Shard(options: EngineOptions(), mode: .event, lateness: 0, sink: MemorySink())
        let inbox = ShardInbox()
        let count = 3 * ShardInbox.slotCount
        let answered = Mutex<Int64?>(nil)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await inbox.deliver(to: shard) }
            // The sender blocks whenever 8 batches are in flight; each applied batch frees one.
            await Pipeline.onThread {
                for k in 1...count { inbox.send(Self.tick(Int64(k) * 1_000)) }
                inbox.offer(.query(WindowQuery(app: "APP", identity: "46"), { answer, _ in answered.withLock { $0 = answer.clock } }))
                inbox.finish(clock: nil)
            }
        }
        #expect(answered.withLock { $0 } == Int64(count) * 1_000)
    }

    @Test func finishedInbox_refusesWhatIsOffered() {
        let inbox = ShardInbox()
        #expect(inbox.offer(.finish(clock: nil)))
        inbox.finish(clock: nil)
        #expect(!inbox.offer(.finish(clock: nil)))
    }
}
