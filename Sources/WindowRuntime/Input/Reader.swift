#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation
import WindowCore

/// How reading ended.
enum ReaderOutcome: Sendable {
    case endOfInput
    case stopped
    case strict(line: Int)
    case ioError(RunFailure)
}

/// The reader: frames standard input into lines, decodes them, checks them against the
/// clock, and routes window records to shards in rounds. Runs on its own thread because
/// `read` blocks; backpressure is a bounded number of rounds in flight per shard.
final class Reader: @unchecked Sendable {
    struct Route {
        let send: @Sendable (ShardMessage) -> Void
        let slots: DispatchSemaphore
    }

    private let fd: Int32
    private let signalFD: Int32
    private let options: RunOptions
    private let routes: [Route]
    private let log: DiagnosticLog
    private let clock: any WallClock
    /// Where the shards write events (checked: once a write failed, reading stops).
    private let output: any EventSink
    private(set) var ingest: Ingest
    private var framer: LineFramer
    private var batches: [ShardBatch]
    private var ticks: [Tick] = []
    private var lineInRound: Int32 = 0
    private var lastTick: Int64 = .min
    private var now: Int64 = 0
    private var stopAtLine: Int?
    static let roundLines: Int32 = 8_192
    static let batchRecords = 2_048

    /// Writes a checkpoint (set when --state is given). Called on a background queue, one
    /// call at a time.
    var checkpoint: (@Sendable (_ images: [WindowImage], _ clock: Int64, _ newest: Int64,
                                _ positions: [StateFile.SourcePosition]) -> String?)?
    /// `--positions`: each source's last line taken so far (sequenced, or rejected as too long).
    private(set) var positions = SourcePositions()
    /// `--positions`: the prefix of the over-long line being rejected, read from its first part.
    private var longLine: (source: [UInt8], position: [UInt8])?
    /// Where shards write large checkpoint images (the state file's directory; see
    /// `RunOptions.spillWindows`).
    var spillDirectory: String?
    private var lastCheckpoint = System.monotonicNanos()
    /// Writes checkpoint files in the background, one at a time.
    private let checkpointWriter = BackgroundWriter()
    /// Periodic checkpoints taken, and the longest time one shard stood still (emitting
    /// nothing) to take its snapshot for one (ns).
    private(set) var checkpointsTaken = 0
    /// `--listen`: where the reader's counts and clock are published for /metrics.
    var metrics: LiveMetrics?
    private(set) var longestCheckpointPause: UInt64 = 0

    /// The first error of a background checkpoint write, if any.
    var checkpointError: String? { checkpointWriter.error }

    private var checkpointWriting: Bool { checkpointWriter.isWriting }

    init(fd: Int32, signalFD: Int32, options: RunOptions, routes: [Route], log: DiagnosticLog, clock: any WallClock,
         output: any EventSink) {
        self.fd = fd
        self.output = output
        self.signalFD = signalFD
        self.options = options
        self.routes = routes
        self.log = log
        self.clock = clock
        self.ingest = Ingest(options: options.ingest)
        self.framer = LineFramer(maxLineBytes: options.maxLineBytes)
        let none = ByteArena(capacity: 0)
        self.batches = Array(repeating: ShardBatch(arena: none), count: routes.count)
    }

    func run() -> ReaderOutcome {
        let quiet: (timeout: () -> Int32, passed: () -> Void)? = checkpoint != nil
            ? (timeout: { self.pollTimeout }, passed: { if self.checkpointDue { self.writeCheckpoint() } }) : nil
        let source = InputSource(fd: fd, signalFD: signalFD)
        return source.run(InputSource.Handlers(chunk: { bytes, stable, idle in
            self.framer.feed(bytes) { piece in self.take(piece, stable: stable) }
            // While more input is waiting, decoders stay busy; once input is idle, everything
            // read so far is sequenced at once, so a quiet live stream sees its events now.
            if idle { self.submit(drain: true) }
            return self.afterChunk()
        }, quiet: quiet, finish: { self.finish($0) }))
    }

    /// After each chunk: stop for --strict or a failed dead-letter or event write; else
    /// flush, and checkpoint when it is time.
    private func afterChunk() -> ReaderOutcome? {
        if let line = stopAtLine { return .strict(line: line) }
        flushRound()
        log.flush()
        if let e = log.rejectsError { return .ioError(.writingRejects(errno: e)) }
        if let e = output.error { return .ioError(.writingEvents(errno: e)) }
        if checkpointDue { writeCheckpoint() }
        if let e = checkpointError { return .ioError(.writingState(e)) }
        publishMetrics()
        return nil
    }

    private func publishMetrics() {
        guard let metrics else { return }
        metrics.publish { [counters = ingest.counters, c = ingest.clock, newest = ingest.maxEventTime, checkpointsTaken, longestCheckpointPause] r in
            r.ingest = counters
            r.clock = c
            r.newest = newest
            r.checkpoints = checkpointsTaken
            r.longestPause = longestCheckpointPause
        }
    }

    /// Due when the period has passed (or SIGUSR1 asked for one) and the previous
    /// checkpoint file is written.
    private var checkpointDue: Bool {
        guard checkpoint != nil else { return false }
        if Signals.checkpointPending, !checkpointWriting { return Signals.takeCheckpointRequest() }
        guard options.checkpointEvery > 0 else { return false }
        return System.monotonicNanos() - lastCheckpoint >= UInt64(options.checkpointEvery) * 1_000_000 && !checkpointWriting
    }

    /// A consistent cut: everything read so far is sequenced and routed, then every shard
    /// snapshots after the batches it was sent (in stream order) and the clock is taken.
    /// The file is then written in the background while reading goes on.
    private func writeCheckpoint() {
        guard let checkpoint else { return }
        submit(drain: true)
        flushRound()
        let collected = SnapshotCollector(count: routes.count)
        for (k, route) in routes.enumerated() {
            route.send(.snapshot(spillTo: spillDirectory, atLeast: options.spillWindows) { collected.add($0, shard: k, took: $1) })
        }
        let (windows, longest) = collected.wait()
        // Shards write before they snapshot: if no write failed by now, every event this
        // state counts as emitted was delivered. If one did, the older file must stay.
        guard output.error == nil else { return }
        let c = options.ingest.mode == .event ? ingest.clock : clock.now() - options.ingest.lateness
        let newest = ingest.maxEventTime
        let cut = options.positions ? positions.saved : []
        lastCheckpoint = System.monotonicNanos()
        longestCheckpointPause = max(longestCheckpointPause, longest)
        checkpointsTaken += 1
        if let metrics { let at = clock.now(); metrics.publish { $0.lastCheckpoint = at } }
        checkpointWriter.start { checkpoint(windows, c, newest, cut) }
    }

    /// Waits until no checkpoint file is being written (before the final state is written,
    /// so an older checkpoint can never replace it); returns the first write error, if any.
    func finishCheckpoints() -> String? { checkpointWriter.finish() }

    /// How long input may stay quiet before a due checkpoint is written anyway (ms); while a
    /// checkpoint file is still being written, look again in 50 ms.
    private var pollTimeout: Int32 {
        if checkpoint != nil, Signals.checkpointPending { return 50 }
        guard checkpoint != nil, options.checkpointEvery > 0 else { return -1 }
        let left = Int64(options.checkpointEvery) - Int64((System.monotonicNanos() - lastCheckpoint) / 1_000_000)
        return Int32(max(checkpointWriting ? 50 : 0, min(left, 60_000)))
    }

    private func finish(_ outcome: ReaderOutcome) -> ReaderOutcome {
        var outcome = outcome
        if case .endOfInput = outcome {
            framer.finish { piece in self.take(piece, stable: nil) }
        }
        submit(drain: true)
        if let line = stopAtLine { outcome = .strict(line: line) }
        flushRound()
        log.flush()
        publishMetrics()
        return outcome
    }

    /// Continues the event clock from a saved state.
    func restore(clock: Int64, newest: Int64, positions saved: [StateFile.SourcePosition]) {
        ingest.restore(clock: clock, newest: newest)
        lastTick = ingest.clock
        positions = SourcePositions(saved)
    }

    // MARK: segments

    /// Decodes lines in parallel and hands them to `sequence` in input order.
    private lazy var pool = DecodePool(positioned: options.positions) { [unowned self] in self.sequence($0) }

    /// `stable` is the mapped input, if any: lines inside it need no copy.
    private func take(_ piece: FramedPiece, stable: UnsafeBufferPointer<UInt8>?) {
        guard stopAtLine == nil else { return }
        switch piece {
        case .line(let bytes):
            var inMapping = false
            if let stable, let b = bytes.baseAddress, let s = stable.baseAddress {
                inMapping = b >= s && b + bytes.count <= s + stable.count
            }
            pool.add(bytes, stable: inMapping)
        case .longPart(let bytes):
            submit(drain: true)  // keep the dead-letter file in input order
            guard stopAtLine == nil else { return }
            if options.positions { noteLongPrefix(bytes) }
            log.reject(bytes, end: false)
        case .longEnd(let validUTF8):
            submit(drain: true)
            guard stopAtLine == nil else { return }
            let d: Diagnostic = validUTF8 ? .lineTooLong : .invalidUTF8
            ingest.countRejected(d)
            log.reject(UnsafeBufferPointer(start: nil, count: 0), end: true)
            log.report(d, line: ingest.counters.lines,
                       detail: validUTF8 ? "line longer than \(options.maxLineBytes) bytes" : "line is not valid UTF-8")
            if let long = longLine, !long.source.isEmpty {
                long.source.withUnsafeBufferPointer { s in long.position.withUnsafeBufferPointer { positions.record(source: s, position: $0) } }
            }
            longLine = nil
            if options.strict { stopAtLine = ingest.counters.lines }
            endLine()
        }
    }

    /// An over-long line is rejected without being held, but its prefix is read: it was
    /// read from its source like any other line. Only a prefix inside the first part counts.
    private func noteLongPrefix(_ part: UnsafeBufferPointer<UInt8>) {
        guard longLine == nil else { return }
        longLine = ([], [])
        guard case .success(let p) = PositionPrefix.find(part),
              UTF8Validator.isValid(UnsafeBufferPointer(rebasing: part[0..<p.callbackStart])) else { return }
        longLine = (Array(p.source(part)), Array(p.position(part)))
    }

    private func submit(drain: Bool) { pool.submit(drain: drain) }

    /// The order-dependent half of ingest: counts, clock checks, routing, diagnostics. The
    /// segment's round goes out at its end: batches take its strings where they were decoded.
    private func sequence(_ segment: Segment) {
        defer { flushRound() }
        now = clock.now()
        let arena = segment.decoder.arena
        for k in batches.indices where batches[k].arena !== arena {
            precondition(batches[k].inputs.isEmpty, "a round spans two segments")
            batches[k] = ShardBatch(arena: arena)
        }
        var recordIndex = 0
        var taken = 0
        var itemIndex = 0
        segment.decoder.arena.withUnsafeBufferPointer { arena in
            for i in 0..<segment.lineCount {
                guard stopAtLine == nil else { return }
                taken = i + 1
                let outcome = segment.outcomes[i]
                var record = DecodedRecord()
                if case .record = outcome {
                    record = segment.records[recordIndex]
                    recordIndex += 1
                }
                switch ingest.accept(outcome, record, arena: arena, now: now) {
                case .blank, .skipped:
                    break
                case .rejected(let d, let detail):
                    rejectLine(d, detail, segment.line(i))
                case .record(let input, let badMetadata):
                    route(input, badMetadata, detail: "message_metadata or channel_metadata is not a JSON object; processed with what the other gives")
                case .webhook(let count):
                    sequenceItems(segment, from: itemIndex, count: count, line: segment.line(i), arena)
                    itemIndex += count
                    if count > 0 { continue }  // each item ended its own step
                }
                endLine()
            }
        }
        if options.positions { recordPositions(segment, linesTaken: taken) }
    }

    /// Each source's last line among the segment's first `linesTaken` (all of them unless
    /// --strict stopped the run inside it).
    private func recordPositions(_ segment: Segment, linesTaken: Int) {
        func record(_ i: Int) {
            guard let p = segment.prefixes[i] else { return }
            let line = segment.line(i)
            positions.record(source: p.source(line), position: p.position(line))
        }
        if linesTaken == segment.lineCount {
            for i in segment.lastOfSource { record(i) }
        } else {
            for i in 0..<linesTaken { record(i) }
        }
    }

    /// The items of one Meta webhook body, each as one step of SPEC section 4 (the clock moves
    /// and timers fire between them); the whole line goes to --rejects if any was rejected.
    private func sequenceItems(_ segment: Segment, from first: Int, count: Int, line: UnsafeBufferPointer<UInt8>,
                               _ arena: UnsafeBufferPointer<UInt8>) {
        let lineNumber = ingest.counters.lines
        var rejected: Diagnostic?
        for item in segment.items[first..<(first + count)] {
            guard stopAtLine == nil else { break }
            switch ingest.acceptItem(item.outcome, item.record, arena: arena, now: now) {
            case .blank, .skipped, .webhook:
                break
            case .rejected(let d, let detail):
                log.report(d, line: lineNumber, detail: "\(item.path): \(detail)")
                if rejected == nil { rejected = d }
                if options.strict { stopAtLine = lineNumber }
            case .record(let input, let badMetadata):
                route(input, badMetadata, detail: "\(item.path): pricing or conversation is not a JSON object; processed with what the other gives")
            }
            endLine()
        }
        if rejected != nil { log.reject(line, end: true) }
    }

    private func rejectLine(_ d: Diagnostic, _ detail: String, _ line: UnsafeBufferPointer<UInt8>) {
        log.report(d, line: ingest.counters.lines, detail: detail)
        if d == .tooLate, options.ingest.mode == .wall { log.tooLate(ingest.counters) }
        log.reject(line, end: true)
        if options.strict { stopAtLine = ingest.counters.lines }
    }

    /// Adds a record to its shard's batch; its strings stay in the segment's arena, which the
    /// batch holds.
    private func route(_ input: WindowInput?, _ badMetadata: Bool, detail: @autoclosure () -> String) {
        if badMetadata { log.report(.badMetadata, line: ingest.counters.lines, detail: detail()) }
        if let input {
            let shard = RoutingHash.partition(input.contactHash, of: routes.count)
            batches[shard].append(input, line: lineInRound)
            if batches[shard].inputs.count >= Self.batchRecords { lineInRoundFull = true }
        }
    }

    private var lineInRoundFull = false

    private func endLine() {
        if options.ingest.mode == .event, ingest.clock > lastTick {
            lastTick = ingest.clock
            ticks.append(Tick(line: lineInRound, clock: lastTick))
        }
        lineInRound += 1
        if lineInRound >= Self.roundLines || lineInRoundFull { flushRound() }
    }

    /// Sends the round to every shard (each needs the clock ticks, records or not).
    private func flushRound() {
        defer {
            lineInRound = 0
            lineInRoundFull = false
        }
        guard !ticks.isEmpty || batches.contains(where: { !$0.inputs.isEmpty }) else { return }
        for k in routes.indices {
            var batch = batches[k]
            batch.ticks = ticks
            if batch.isEmpty { continue }
            routes[k].slots.wait()
            routes[k].send(.batch(batch))
            batches[k] = ShardBatch(arena: batch.arena)
        }
        ticks = []
    }
}
