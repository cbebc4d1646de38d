import WindowCore

/// A shard: an actor that owns the window state of its contacts and carries out what the
/// engine decides. Records arrive in batches; in live mode a ticker fires its timers.
public actor Shard {
    private var engine: WindowEngine
    private let sink: any EventSink
    private let mode: ClockMode
    private let lateness: Int64
    private let clock: any WallClock

    public init(options: EngineOptions, mode: ClockMode, lateness: Int64, sink: any EventSink,
                clock: any WallClock = SystemWallClock()) {
        self.engine = WindowEngine(options: options)
        self.sink = sink
        self.mode = mode
        self.lateness = lateness
        self.clock = clock
    }

    public func handle(_ message: ShardMessage) {
        switch message {
        case .batch(let batch):
            process(batch)
        case .finish(let final):
            if mode == .event {
                if let final { engine.advance(to: final) }
            } else {
                engine.advance(to: clock.now() - lateness)
            }
            flush()
        case .snapshot(let reply):
            reply(engine.savedWindows())
        }
    }

    /// Puts saved windows back and continues from the saved clock.
    public func restore(_ windows: [SavedWindow], clock: Int64) {
        engine.reserve(windows: windows.count)
        for w in windows { engine.restore(w) }
        if clock != .min { engine.restoreClock(clock) }
        if mode == .wall { engine.advance(to: max(engine.clock, self.clock.now() - lateness)) } else { engine.advance(to: engine.clock) }
        flush()
    }

    public var savedWindows: [SavedWindow] { engine.savedWindows() }

    /// Applies a batch: each record sees C as it was after the previous line (SPEC section 4).
    public func process(_ batch: ShardBatch) {
        batch.arena.withUnsafeBufferPointer { arena in
            if mode == .wall {
                engine.advance(to: clock.now() - lateness)
                for input in batch.inputs {
                    engine.apply(input, in: arena)
                    engine.advance(to: engine.clock)
                }
                return
            }
            let ticks = batch.ticks
            var t = 0
            for (k, input) in batch.inputs.enumerated() {
                let line = batch.lines[k]
                while t < ticks.count, ticks[t].line < line {
                    engine.advance(to: ticks[t].clock)
                    t += 1
                }
                engine.apply(input, in: arena)
                while t < ticks.count, ticks[t].line <= line {
                    engine.advance(to: ticks[t].clock)
                    t += 1
                }
                engine.advance(to: engine.clock)
            }
            while t < ticks.count {
                engine.advance(to: ticks[t].clock)
                t += 1
            }
        }
        flush()
    }

    /// Live mode: fires what is due now; returns the wall time of the next due timer.
    public func wallTick() -> Int64? {
        engine.advance(to: clock.now() - lateness)
        flush()
        return engine.nextDue.map { $0 &+ lateness }
    }

    public var counters: EngineCounters { engine.counters }
    public var contactCount: Int { engine.contactCount }

    private func flush() {
        guard !engine.output.isEmpty else { return }
        sink.write(engine.output.bytes)
        engine.output.removeAll()
    }
}
