import WindowCore

/// How reading ended.
enum ReaderOutcome: Sendable {
    case endOfInput
    case stopped
    case strict(line: Int)
    case ioError(RunFailure)
}

/// The input loop: standard input (`InputSource`) → `LineFramer` → `DecodePool` → `Sequencer`,
/// then carries out what the sequencer asks: diagnostics and `--rejects` lines to the log,
/// batches to the shards' inboxes, a `--strict` stop. Between chunks it stops on a failed
/// write and takes the periodic checkpoints and those SIGUSR1 asks for (`Checkpointer`).
///
/// Threads: `run` is called once, on a thread of its own (`read` blocks, and a full inbox
/// blocks `send`); it returns when reading ended. Everything it does happens on that thread,
/// except decoding, which the pool's workers do. Safe to share: every property is a constant,
/// and the log, the only one not `Sendable`, is used by `run` alone until it returns.
final class InputReader: @unchecked Sendable {
    let fd: Int32
    let signalFD: Int32
    let options: RunOptions
    let inboxes: [ShardInbox]
    let log: DiagnosticLog
    let clock: any WallClock
    /// Where the shards write events (checked: once a write failed, reading stops).
    let output: any EventSink
    let checkpointer: Checkpointer?
    /// `--listen`: where the reader's counts and clock are published for /metrics.
    let metrics: LiveMetrics?
    /// `--listen`: the links between phones and user ids, for queries by either.
    let directory: LinkDirectory?

    init(fd: Int32, signalFD: Int32, options: RunOptions, inboxes: [ShardInbox], log: DiagnosticLog,
         clock: any WallClock, output: any EventSink, checkpointer: Checkpointer?, metrics: LiveMetrics?,
         directory: LinkDirectory? = nil) {
        self.directory = directory
        self.fd = fd
        self.signalFD = signalFD
        self.options = options
        self.inboxes = inboxes
        self.log = log
        self.clock = clock
        self.output = output
        self.checkpointer = checkpointer
        self.metrics = metrics
    }

    /// Reads until the end of input, a stop signal, a `--strict` stop or a failed write;
    /// `sequencer` is where reading starts (a restored clock and positions), and the one
    /// returned holds the counts, clock and positions at the end.
    func run(_ sequencer: Sequencer) -> (outcome: ReaderOutcome, sequencer: Sequencer) {
        let loop = ReadLoop(self, sequencer)
        let outcome = loop.run()
        return (outcome, loop.sequencer)
    }
}

/// The state of one `InputReader.run`, on the reader thread.
private final class ReadLoop {
    private let reader: InputReader
    private(set) var sequencer: Sequencer
    private var framer: LineFramer
    /// What the sequencer asked for; carried out and emptied after each of its calls.
    private var actions: [SequencerAction] = []
    private var stoppedAt: Int?
    /// Decodes lines in parallel and hands them to `segmentDecoded` in input order.
    private lazy var pool = DecodePool(positioned: reader.options.positions) { [unowned self] in self.segmentDecoded($0) }

    init(_ reader: InputReader, _ sequencer: Sequencer) {
        self.reader = reader
        self.sequencer = sequencer
        framer = LineFramer(maxLineBytes: reader.options.maxLineBytes)
    }

    func run() -> ReaderOutcome {
        var quiet: (timeout: () -> Int32, passed: () -> Void)?
        // With a state file, quiet input is polled: a period may pass, or SIGUSR1 ask for a
        // checkpoint, while nothing is read.
        if let checkpointer = reader.checkpointer {
            quiet = (timeout: { checkpointer.pollTimeout }, passed: { if checkpointer.isDue { self.checkpoint(checkpointer) } })
        }
        let source = InputSource(fd: reader.fd, signalFD: reader.signalFD)
        return source.run(InputSource.Handlers(chunk: { bytes, stable, idle in
            self.framer.feed(bytes) { piece in self.take(piece, stable: stable) }
            // While more input is waiting, decoders stay busy; once input is idle, everything
            // read so far is sequenced at once, so a quiet live stream sees its events now.
            if idle { self.pool.submit(drain: true) }
            return self.afterChunk()
        }, quiet: quiet, finish: { self.finish($0) }, referenced: { self.pool.oldestStableLine }))
    }

    /// After each chunk: stop for --strict or a failed dead-letter or event write; else
    /// end the round, and checkpoint when it is time.
    private func afterChunk() -> ReaderOutcome? {
        if let line = stoppedAt { return .strict(line: line) }
        endRound()
        reader.log.flush()
        if let e = reader.log.rejectsError { return .ioError(.writingRejects(errno: e)) }
        if let e = reader.output.error { return .ioError(.writingEvents(errno: e)) }
        if let checkpointer = reader.checkpointer {
            if checkpointer.isDue { checkpoint(checkpointer) }
            if let e = checkpointer.error { return .ioError(.writingState(e)) }
        }
        publishMetrics()
        return nil
    }

    private func checkpoint(_ checkpointer: Checkpointer) {
        pool.submit(drain: true)
        endRound()
        checkpointer.takePeriodic(reader.inboxes, sequencer)
    }

    private func finish(_ outcome: ReaderOutcome) -> ReaderOutcome {
        var outcome = outcome
        if case .endOfInput = outcome {
            framer.finish { piece in self.take(piece, stable: nil) }
        }
        pool.submit(drain: true)
        if let line = stoppedAt { outcome = .strict(line: line) }
        endRound()
        reader.log.flush()
        publishMetrics()
        return outcome
    }

    private func publishMetrics() {
        guard let metrics = reader.metrics else { return }
        let taken = reader.checkpointer?.taken ?? (count: 0, longestPause: 0)
        metrics.publish { [counters = sequencer.ingest.counters, c = sequencer.ingest.clock, newest = sequencer.ingest.maxEventTime] r in
            r.ingest = counters
            r.clock = c
            r.newest = newest
            r.checkpoints = taken.count
            r.longestPause = taken.longestPause
        }
    }

    /// `stable` is the mapped input, if any: lines inside it need no copy.
    private func take(_ piece: FramedPiece, stable: UnsafeBufferPointer<UInt8>?) {
        guard stoppedAt == nil else { return }
        switch piece {
        case .line(let bytes):
            var inMapping = false
            if let stable, let b = bytes.baseAddress, let s = stable.baseAddress {
                inMapping = b >= s && b + bytes.count <= s + stable.count
            }
            pool.add(bytes, stable: inMapping)
        case .longPart(let bytes):
            pool.submit(drain: true)  // keep the dead-letter file in input order
            sequencer.longLinePart(bytes, into: &actions)
            carryOut()
        case .longEnd(let validUTF8):
            pool.submit(drain: true)
            sequencer.longLineEnded(validUTF8: validUTF8, into: &actions)
            carryOut()
        }
    }

    private func segmentDecoded(_ segment: Segment) {
        sequencer.segmentDecoded(segment.decoded, now: reader.clock.now(), into: &actions)
        carryOut()
    }

    private func endRound() {
        sequencer.endRound(into: &actions)
        carryOut()
    }

    private func carryOut() {
        for action in actions {
            switch action {
            case .report(let d, let line, let detail): reader.log.report(d, line: line, detail: detail)
            case .tooLate(let counters): reader.log.tooLate(counters)
            case .reject(let bytes, let end): reader.log.reject(bytes, end: end)
            case .send(let k, let batch): reader.inboxes[k].send(batch)
            case .stop(let line): stoppedAt = line
            case .links(let changes): reader.directory?.apply(changes)
            }
        }
        actions.removeAll(keepingCapacity: true)
    }
}
