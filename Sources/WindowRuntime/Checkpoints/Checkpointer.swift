import Synchronization
import WindowCore

/// Takes the state's cuts and writes them (`--state`): periodic checkpoints while reading,
/// the state at the end of input (`--serve-after-eof`) and the state at exit.
///
/// A cut is consistent: everything read so far is sequenced and sent, then every shard
/// snapshots after the batches it was sent (in inbox order), and the clock C, the newest
/// event time and the source positions are taken from the sequencer at that point.
///
/// Threads: `takePeriodic`, `isDue` and `pollTimeout` on the reader thread; periodic files are
/// written on a background queue, one at a time; `writeAtEndOfInput` and `finish` on a
/// thread that may block; `writeAtExit` from the pipeline's task once the inboxes are closed.
final class Checkpointer: Sendable {
    let keeper: StateKeeper
    /// Period of checkpoints while reading (ms; 0 for none).
    private let period: Int64
    /// Shards holding at least this many windows snapshot into a file (`RunOptions.spillWindows`).
    private let spillWindows: Int
    private let positions: Bool
    private let clock: any WallClock
    /// Where the shards write events: a cut is kept only when no write failed.
    private let output: any EventSink
    private let errors: FDWriter
    private let metrics: LiveMetrics?
    private let writer = BackgroundWriter()
    private let counts = Mutex(Counts())

    private struct Counts {
        var last = System.monotonicNanos()
        var taken = 0
        var longestPause: UInt64 = 0
    }

    init(keeper: StateKeeper, options: RunOptions, clock: any WallClock, output: any EventSink, errors: FDWriter,
         metrics: LiveMetrics?) {
        self.keeper = keeper
        period = options.checkpointEvery
        spillWindows = options.spillWindows
        positions = options.positions
        self.clock = clock
        self.output = output
        self.errors = errors
        self.metrics = metrics
    }

    /// Periodic checkpoints taken, and the longest time one shard stood still (emitting
    /// nothing) to take its snapshot for one (ns).
    var taken: (count: Int, longestPause: UInt64) { counts.withLock { ($0.taken, $0.longestPause) } }

    /// The first error of a background write, if any.
    var error: String? { writer.error }

    var isPeriodic: Bool { period > 0 }

    /// Due when the period has passed and the previous file is written.
    var isDue: Bool {
        guard period > 0 else { return false }
        return System.monotonicNanos() - counts.withLock { $0.last } >= UInt64(period) * 1_000_000 && !writer.isWriting
    }

    /// How long input may stay quiet before a due checkpoint is written anyway (ms); while a
    /// file is still being written, look again in 50 ms.
    var pollTimeout: Int32 {
        guard period > 0 else { return -1 }
        let left = period - Int64((System.monotonicNanos() - counts.withLock { $0.last }) / 1_000_000)
        return Int32(max(writer.isWriting ? 50 : 0, min(left, 60_000)))
    }

    /// A periodic checkpoint, the sequencer having sent everything read so far: the cut is
    /// taken now and the file written in the background while reading goes on.
    func takePeriodic(_ inboxes: [ShardInbox], _ sequencer: Sequencer) {
        guard let (images, longest) = cut(inboxes) else { return }
        let point = CutPoint(sequencer, now: clock.now(), positions: positions)
        counts.withLock {
            $0.last = System.monotonicNanos()
            $0.longestPause = max($0.longestPause, longest)
            $0.taken += 1
        }
        if let metrics { let at = clock.now(); metrics.publish { $0.lastCheckpoint = at } }
        writer.start { [keeper] in point.write(images, keeper) }
    }

    /// `--serve-after-eof`: the state at the end of input, written now while the shards keep
    /// their tables for the queries still to come (the state is written again at exit).
    func writeAtEndOfInput(_ inboxes: [ShardInbox], _ sequencer: Sequencer) {
        guard finish() == nil, let (images, _) = cut(inboxes) else { return }
        if let e = CutPoint(sequencer, now: clock.now(), positions: positions).write(images, keeper) { say(e) }
    }

    /// The state at exit, once the inboxes are closed; false when it could not be written.
    /// One shard after the other, in shard order (the same state always makes the same
    /// file), each releasing its tables (see `Shard.finalImage`).
    func writeAtExit(_ shards: [Shard], _ sequencer: Sequencer, stoppedByStateError: Bool) async -> Bool {
        var ok = true
        // A checkpoint still being written finishes first. A write that failed while
        // reading went on stopped the reader with that error; one that failed after the
        // last chunk is said here.
        if let e = await Pipeline.onThread({ self.finish() }), !stoppedByStateError {
            say(e)
            ok = false
        }
        // Events were lost after a failed write: the last checkpoint stays, so that a
        // restart emits them again.
        if output.error != nil {
            say("state not written (events since the last checkpoint were not delivered); \(keeper.path) keeps the last checkpoint")
            return ok
        }
        var images: [WindowImage] = []
        for s in shards { images.append(await s.finalImage(spillTo: keeper.directory, atLeast: spillWindows)) }
        if let e = CutPoint(sequencer, now: clock.now(), positions: positions).write(images, keeper) {
            say(e)
            ok = false
        }
        return ok
    }

    /// Waits until no checkpoint file is being written (before a later state is written, so
    /// an older checkpoint can never replace it); the first write error, if any.
    func finish() -> String? { writer.finish() }

    /// Every shard's snapshot after what it was sent, in shard order, and the longest time
    /// one shard took for its own; nil when an event write failed (shards write before they
    /// snapshot: if none failed by now, every event this state counts as emitted was
    /// delivered; if one did, the older file must stay).
    private func cut(_ inboxes: [ShardInbox]) -> ([WindowImage], UInt64)? {
        let collected = SnapshotCollector(count: inboxes.count)
        for (k, inbox) in inboxes.enumerated() {
            inbox.offer(.snapshot(spillTo: keeper.directory, atLeast: spillWindows) { collected.add($0, shard: k, took: $1) })
        }
        let result = collected.wait()
        return output.error == nil ? result : nil
    }

    private func say(_ message: String) {
        errors.write(Array("windowkeeper: \(message)\n".utf8))
    }
}

/// What a state file saves beside the windows, read from the sequencer at a cut.
private struct CutPoint: Sendable {
    var clock: Int64
    var newest: Int64
    var positions: [StateFile.SourcePosition]
    var links: [IdentityLinks.Link]

    init(_ sequencer: Sequencer, now: Int64, positions: Bool) {
        clock = sequencer.ingest.currentClock(now: now)
        newest = sequencer.ingest.maxEventTime
        self.positions = positions ? sequencer.positions.saved : []
        links = sequencer.links.all
    }

    func write(_ images: [WindowImage], _ keeper: StateKeeper) -> String? {
        keeper.write(images, clock: clock, newest: newest, positions: positions, links: links)
    }
}
