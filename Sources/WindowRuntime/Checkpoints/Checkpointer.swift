import Synchronization
import WindowCore

/// Takes the state's cuts and writes them (`--state`): periodic checkpoints while reading
/// (and one whenever SIGUSR1 asks), the state at the end of input (`--serve-after-eof`, again
/// on each SIGUSR1 after it) and the state at exit.
///
/// A checkpoint that fails (periodic, SIGUSR1, end of input) does not stop the run: it is
/// said on standard error, counted in `CheckpointHealth` (`/readyz` answers 503 until one
/// succeeds again) and the next one tries again. Only the state at exit failing gives exit 1.
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
    private let log: RunLog
    /// Checkpoints written and failed, for the summary, /metrics and /readyz.
    let health: CheckpointHealth
    private let metrics: LiveMetrics?
    private let writer = BackgroundWriter()
    private let counts = Mutex(Counts())

    private struct Counts {
        var last = System.monotonicNanos()
        var taken = 0
        var longestPause: UInt64 = 0
    }

    init(keeper: StateKeeper, options: RunOptions, clock: any WallClock, output: any EventSink, log: RunLog,
         health: CheckpointHealth = CheckpointHealth(), metrics: LiveMetrics?) {
        self.keeper = keeper
        period = options.checkpointEvery
        spillWindows = options.spillWindows
        positions = options.positions
        self.clock = clock
        self.output = output
        self.log = log
        self.health = health
        self.metrics = metrics
    }

    /// Periodic (and SIGUSR1) checkpoints taken, and the longest time one shard stood still (emitting
    /// nothing) to take its snapshot for one (ns).
    var taken: (count: Int, longestPause: UInt64) { counts.withLock { ($0.taken, $0.longestPause) } }

    /// The first error of a background write, if any (none: a failed periodic checkpoint is
    /// noted in `health` and does not stop the reader).
    var error: String? { writer.error }

    /// Due when the period has passed (or SIGUSR1 asked for one) and the previous file is
    /// written. Taking SIGUSR1's request here: true means the caller takes the checkpoint.
    var isDue: Bool {
        if Signals.checkpointPending, !writer.isWriting { return Signals.takeCheckpointRequest() }
        guard period > 0 else { return false }
        return System.monotonicNanos() - counts.withLock { $0.last } >= UInt64(period) * 1_000_000 && !writer.isWriting
    }

    /// How long input may stay quiet before a due checkpoint is written anyway (ms); while a
    /// file is still being written, or SIGUSR1 asked for one, look again in 50 ms.
    var pollTimeout: Int32 {
        if Signals.checkpointPending { return 50 }
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
        writer.start { [keeper, health, log] in
            Self.note(point.write(images, keeper), of: keeper, health, log)
            return nil
        }
    }

    /// `--serve-after-eof`: the state at the end of input, written now while the shards keep
    /// their tables for the queries still to come (the state is written again at exit; and
    /// on each SIGUSR1 meanwhile). Its outcome is noted like a periodic checkpoint's.
    func writeAtEndOfInput(_ inboxes: [ShardInbox], _ sequencer: Sequencer) {
        guard finish() == nil, let (images, _) = cut(inboxes) else { return }
        Self.note(CutPoint(sequencer, now: clock.now(), positions: positions).write(images, keeper), of: keeper, health, log)
    }

    /// A checkpoint's outcome (`error` nil on success): counted, and said when it failed or
    /// when it succeeded after failures.
    static func note(_ error: String?, of keeper: StateKeeper, _ health: CheckpointHealth, _ log: RunLog) {
        let wasFailing = health.reading.failing
        let r = health.record(error, now: log.clock.now())
        if let error {
            log.say("checkpoint_failed", .string(error), [("failures", .int(r.failed))])
        } else if wasFailing {
            log.say("checkpoint_recovered", .string(keeper.path), [("failures", .int(r.failed))])
        }
    }

    /// The state at exit, once the inboxes are closed; false when it could not be written.
    /// One shard after the other, in shard order (the same state always makes the same
    /// file), each releasing its tables (see `Shard.finalImage`).
    func writeAtExit(_ shards: [Shard], _ sequencer: Sequencer, stoppedByStateError: Bool) async -> Bool {
        var ok = true
        // A checkpoint still being written finishes first (a periodic one that failed was
        // noted already and does not fail the exit; `error` is only for a write that would
        // have stopped the reader with it).
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

    private func say(_ message: String) { log.error(message) }
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
