import WindowCore

/// A shard: an actor that owns the window state of its contacts and carries out what the
/// engine decides. Records arrive in batches; in live mode a ticker fires its timers.
public actor Shard {
    private var engine: WindowEngine
    private let sink: any EventSink
    private let mode: ClockMode
    private let lateness: Int64
    private let clock: any WallClock
    /// Where this shard's counts go after every message and tick (`--listen`'s /metrics).
    private var report: (@Sendable (EngineCounters, Int) -> Void)?

    /// Records whose cache lines are warmed together.
    static let warmRun = 16
    /// Keeps the warming loads from being optimised away.
    private var warmSink: UInt64 = 0

    public init(options: EngineOptions, mode: ClockMode, lateness: Int64, sink: any EventSink,
                clock: any WallClock = SystemWallClock()) {
        self.engine = WindowEngine(options: options)
        self.sink = sink
        engine.drain = { sink.write($0) }
        self.mode = mode
        self.lateness = lateness
        self.clock = clock
    }

    /// Publishes this shard's counts through `report` from now on.
    public func reportCounters(_ report: @escaping @Sendable (EngineCounters, Int) -> Void) {
        self.report = report
        report(counters, contactCount)
    }

    public func handle(_ message: ShardMessage) {
        defer { report?(counters, contactCount) }
        switch message {
        case .batch(let batch):
            process(batch)
        case .finish(let final):
            if mode == .event {
                if let final { engine.advance(to: final) }
            } else {
                engine.advance(to: wallC)
            }
            flush()
        case .snapshot(let directory, let threshold, let reply):
            // The time this shard stops emitting for the checkpoint.
            let started = System.monotonicNanos()
            let image = image(spillTo: directory, atLeast: threshold)
            reply(image, System.monotonicNanos() - started)
        case .query(let query, let reply):
            // Wall mode: the clock is now − lateness, and what is due by then fires first.
            if mode == .wall {
                engine.advance(to: max(engine.clock, wallC))
                flush()
            }
            let answer = engine.answer(query)
            reply(answer, mode == .wall ? clock.now() : answer.clock)
        }
    }

    /// Puts this shard's windows of a checked state file back (shard `index` of `count` takes
    /// the windows routed to it) and continues from the saved clock: `beginRestore`,
    /// `restore(_:_:records:index:count:)` for each of the file's `StateFile.parts` (so that a
    /// part's pages can be dropped once every shard has read it), `finishRestore`.
    public func beginRestore(_ header: StateFile.Header, shards count: Int) {
        engine.beginRestore(header, shards: count)
    }

    public func restore(_ file: MappedFile, _ header: StateFile.Header, records: Range<Int>, index: Int, count: Int) {
        engine.restore(file: file.bytes, header, records: records, shard: index, of: count)
    }

    /// With at least `threshold` windows restored and a directory, this shard's image file is
    /// made now and filled in the background (`SpillWarmer`).
    public func finishRestore(_ header: StateFile.Header, spillTo directory: String?, atLeast threshold: Int) {
        engine.finishRestore(clock: header.clock)
        if let directory, windowCount >= threshold, let file = SpillFile.create(in: directory) {
            spill = file
            warmer = SpillWarmer(file: file, bytes: windowCount * Self.imageBytesPerWindow)
        }
        if mode == .wall { engine.advance(to: max(engine.clock, wallC)) } else { engine.advance(to: engine.clock) }
        flush()
    }

    /// This shard's windows for a state file; with at least `threshold` of them and a
    /// directory, written to an unnamed file there instead of memory (in memory when that
    /// fails).
    /// The file is kept for the next image (checkpoints are written one at a time, and the
    /// exit image waits for the last one, so no image in it is still being read).
    private func image(spillTo directory: String?, atLeast threshold: Int) -> WindowImage {
        warmer?.stop()
        warmer = nil
        if let directory, windowCount >= threshold, let file = spill ?? SpillFile.create(in: directory) {
            file.rewind()
            if let image = engine.windowImage(spillingTo: file) {
                spill = file
                return image
            }
            spill = nil  // a write failed (a full disk): a new file next time
        }
        return engine.windowImage()
    }

    /// Open and remembered windows.
    private var windowCount: Int { engine.counters.open.reduce(0, +) + engine.counters.remembered }

    /// The file this shard's large images are written to, and what fills it after a restore.
    private var spill: SpillFile?
    private var warmer: SpillWarmer?
    /// About the bytes of a window's image record (72 for a customer service window with
    /// 13-character ids): how much of the file the warmer fills.
    static let imageBytesPerWindow = 72

    /// The image for the state written at exit (as `image(spillTo:atLeast:)`). The window
    /// tables are released after it (nothing runs on this shard afterwards; `counters` and
    /// `contactCount` keep their values), so that shards taking their final images one after
    /// the other never hold their tables and all the images at once.
    public func finalImage(spillTo directory: String?, atLeast threshold: Int) -> WindowImage {
        let image = image(spillTo: directory, atLeast: threshold)
        released = (engine.counters, engine.contactCount)
        engine = WindowEngine(options: engine.options)
        return image
    }

    /// The counts when the tables were released by `finalImage`.
    private var released: (counters: EngineCounters, contacts: Int)?

    /// Applies a batch: each record sees C as it was after the previous line (SPEC section 4).
    public func process(_ batch: ShardBatch) {
        guard !batch.hasPeople else {
            if let handOff = processPeople(batch) {
                // Only an inbox can wait (`ShardInbox.deliver`); a caller that cannot has
                // sent the take before, in this batch or an earlier one.
                preconditionFailure("a join whose windows are not there yet: \(handOff)")
            }
            return
        }
        batch.arena.withUnsafeBufferPointer { arena in
            if mode == .wall {
                engine.advance(to: wallC)
                for input in batch.inputs {
                    engine.apply(input, in: arena)
                    engine.advance(to: engine.clock)
                }
                return
            }
            let ticks = batch.ticks
            var t = 0
            batch.inputs.withUnsafeBufferPointer { inputs in
                let lines = batch.lines
                var warmed = 0
                for k in inputs.indices {
                    if k >= warmed {
                        // Warm the caches for the next run of records (see `WindowEngine.warm`).
                        warmed = min(k + Self.warmRun, inputs.count)
                        warmSink &+= engine.warm(UnsafeBufferPointer(rebasing: inputs[k..<warmed]))
                    }
                    let line = lines[k]
                    while t < ticks.count, ticks[t].line < line {
                        engine.advance(to: ticks[t].clock)
                        t += 1
                    }
                    engine.apply(inputs[k], in: arena)
                    while t < ticks.count, ticks[t].line <= line {
                        engine.advance(to: ticks[t].clock)
                        t += 1
                    }
                    engine.advance(to: engine.clock)
                }
            }
            while t < ticks.count {
                engine.advance(to: ticks[t].clock)
                t += 1
            }
        }
        flush()
    }

    /// A batch with people in it that stopped to wait for a phone's windows from another shard.
    private var paused: BatchWalk?

    /// A batch some of whose steps concern people known by a user id (SPEC section 12),
    /// walked in line order (`BatchWalk`). Returns the hand-off to wait for when a join's
    /// windows are not there yet; `resume(moved:)` goes on with them.
    public func processPeople(_ batch: ShardBatch) -> WindowHandOff? {
        if mode == .wall { engine.advance(to: wallC) }
        return walk(BatchWalk(batch), moved: nil)
    }

    /// Goes on with the paused batch once the windows it waited for are there.
    public func resume(moved: [SavedWindow]) -> WindowHandOff? {
        guard let w = paused else { preconditionFailure("nothing paused") }
        paused = nil
        return walk(w, moved: moved)
    }

    private func walk(_ start: BatchWalk, moved: [SavedWindow]?) -> WindowHandOff? {
        var w = start
        let waiting = w.run(on: &engine, ticks: mode == .event, firesAfterJoin: mode == .wall, moved: moved)
        if waiting != nil { paused = w }
        flush()
        return waiting
    }

    /// After a restore: the phones linked to this shard's user ids (SPEC section 12).
    public func restoreLinks(_ links: [IdentityLinks.Link], index: Int, count: Int, horizon: Int64) {
        for link in links {
            link.app.withUnsafeBufferPointer { app in
                link.user.withUnsafeBufferPointer { user in
                    guard RoutingHash.partition(RoutingHash.contact(app: app, contact: user), of: count) == index else { return }
                    engine.notePhone(app: app, contact: user, PersonNote(phone: link.phone, until: link.last &+ horizon))
                }
            }
        }
    }

    /// C in wall mode: now − lateness (SPEC section 4); event mode takes C from the batches.
    private var wallC: Int64 { clock.now() - lateness }

    /// Live mode: fires what is due now; returns the wall time of the next due timer.
    public func wallTick() -> Int64? {
        engine.advance(to: wallC)
        flush()
        report?(counters, contactCount)
        return engine.nextDue.map { $0 &+ lateness }
    }

    public var counters: EngineCounters { released?.counters ?? engine.counters }
    public var contactCount: Int { released?.contacts ?? engine.contactCount }

    private func flush() {
        guard !engine.output.isEmpty else { return }
        sink.write(engine.output.bytes)
        engine.output.removeAll()
    }
}
