import Dispatch
import Foundation
import WindowCore

/// How a run ended, as an exit status.
public enum RunStatus: Int32, Sendable {
    case ok = 0
    case ioError = 1
    case usage = 2
    case strict = 3
}

/// Builds and runs the pipeline: one reader thread, `--shards` shard actors each fed by an
/// ordered stream of batches, and (live mode) one ticker per shard. One task group owns them.
public struct Pipeline: Sendable {
    public let options: RunOptions
    public let clock: any WallClock
    public let input: Int32
    public let output: any EventSink
    public let errors: FDWriter

    public init(options: RunOptions, input: Int32 = 0, output: any EventSink = FDWriter(fd: 1),
                errors: FDWriter = FDWriter(fd: 2), clock: any WallClock = SystemWallClock()) {
        self.options = options
        self.input = input
        self.output = output
        self.errors = errors
        self.clock = clock
    }

    private enum Child { case consumer, ticker }

    public func run() async -> RunStatus {
        let started = System.monotonicNanos()
        var rejects: FDWriter?
        if let path = options.rejectsPath {
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                errors.write(Array("windowkeeper: cannot open --rejects \(path): \(String(cString: strerror(errno)))\n".utf8))
                return .ioError
            }
            rejects = FDWriter(fd: fd)
        }
        defer { if let rejects { close(rejects.fd) } }
        let shards = (0..<options.shards).map { _ in
            Shard(options: options.engine, mode: options.ingest.mode, lateness: options.ingest.lateness,
                  sink: output, clock: clock)
        }
        let streams = shards.map { _ in AsyncStream<ShardMessage>.makeStream() }
        let slots = shards.map { _ in DispatchSemaphore(value: 8) }
        let routes = shards.indices.map { k in
            Reader.Route(send: { [continuation = streams[k].continuation] in continuation.yield($0) }, slots: slots[k])
        }
        let log = DiagnosticLog(stderr: errors, rejects: rejects)
        let reader = Reader(fd: input, signalFD: Signals.install(), options: options, routes: routes, log: log, clock: clock,
                            output: output)
        var keeper: StateKeeper?
        var loaded = 0
        var loadNanos: UInt64 = 0, finalWriteNanos: UInt64 = 0
        if let path = options.statePath {
            let k = StateKeeper(path: path, semantics: options.semantics)
            let loadStarted = System.monotonicNanos()
            defer { loadNanos = System.monotonicNanos() - loadStarted }
            do {
                if let (file, header) = try k.load() {
                    loaded = header.windowCount
                    // Every shard scans the checked file and restores its own windows, in parallel,
                    // part by part; a part's pages are dropped once all shards have read it.
                    let count = shards.count
                    for shard in shards { await shard.beginRestore(header, shards: count) }
                    for part in StateFile.parts(file.bytes, header, count: 16) {
                        await withTaskGroup(of: Void.self) { group in
                            for (i, shard) in shards.enumerated() {
                                group.addTask { await shard.restore(file, header, records: part, index: i, count: count) }
                            }
                        }
                        file.release(part)
                    }
                    await withTaskGroup(of: Void.self) { group in
                        for shard in shards {
                            group.addTask { await shard.finishRestore(header, spillTo: k.directory, atLeast: options.spillWindows) }
                        }
                    }
                    reader.restore(clock: header.clock, newest: header.newest)
                }
            } catch {
                errors.write(Array("windowkeeper: \(error.description)\n".utf8))
                if case .unusable = error { return .usage }
                return .ioError
            }
            reader.checkpoint = { images, c, newest in k.write(images, clock: c, newest: newest) }
            reader.spillDirectory = k.directory
            keeper = k
        }
        let mode = options.ingest.mode
        let until = options.until

        // The reader's outcome, and (event mode, end of input) the clock C moved to at the end.
        let (outcome, finalClock): (ReaderOutcome, Int64?) = await withTaskGroup(of: Child.self) { group in
            for k in shards.indices {
                let shard = shards[k], stream = streams[k].stream, slot = slots[k]
                group.addTask {
                    for await message in stream {
                        await shard.handle(message)
                        if case .batch = message { slot.signal() }
                    }
                    return .consumer
                }
                if mode == .wall {
                    let clock = self.clock
                    group.addTask {
                        while !Task.isCancelled {
                            let next = await shard.wallTick()
                            let now = clock.now()
                            await clock.wait(until: min(next ?? .max, now + 10))
                        }
                        return .ticker
                    }
                }
            }
            let outcome = await withCheckedContinuation { (done: CheckedContinuation<ReaderOutcome, Never>) in
                let thread = Thread { done.resume(returning: reader.run()) }
                thread.stackSize = 16 << 20
                thread.start()
            }
            var final: Int64?
            if case .endOfInput = outcome, mode == .event {
                var ingest = reader.ingest
                final = ingest.finish(until: until)
                if final == .min { final = nil }
            }
            for s in streams {
                s.continuation.yield(.finish(clock: final))
                s.continuation.finish()
            }
            var consumers = shards.count
            while consumers > 0, let child = await group.next() {
                if case .consumer = child { consumers -= 1 }
            }
            group.cancelAll()
            return (outcome, final)
        }

        var status = RunStatus.ok
        if let keeper {
            // A checkpoint still being written finishes first. A write that failed while
            // reading went on stopped the reader with that error; one that failed after the
            // last chunk is reported here.
            if let e = reader.finishCheckpoints() {
                if case .ioError(.writingState) = outcome {} else {
                    errors.write(Array("windowkeeper: \(e)\n".utf8))
                    status = .ioError
                }
            }
            let writeStarted = System.monotonicNanos()
            defer { finalWriteNanos = System.monotonicNanos() - writeStarted }
            // Events were lost after a failed write: the last checkpoint stays, so that a
            // restart emits them again.
            if output.error != nil {
                errors.write(Array("windowkeeper: state not written (events since the last checkpoint were not delivered); \(keeper.path) keeps the last checkpoint\n".utf8))
            } else {
                // In shard order, so that the same state always makes the same file; one
                // shard after the other, each releasing its tables (see `finalImage`).
                var images: [WindowImage] = []
                for s in shards { images.append(await s.finalImage(spillTo: keeper.directory, atLeast: options.spillWindows)) }
                let c = mode == .event ? (finalClock ?? reader.ingest.clock) : clock.now() - options.ingest.lateness
                if let e = keeper.write(images, clock: c, newest: reader.ingest.maxEventTime) {
                    errors.write(Array("windowkeeper: \(e)\n".utf8))
                    status = .ioError
                }
            }
        }
        var engine = EngineCounters()
        var contacts = 0
        for s in shards {
            engine.add(await s.counters)
            contacts += await s.contactCount
        }
        let elapsed = Double(System.monotonicNanos() - started) / 1e9
        let summary = Summary(ingest: reader.ingest.counters, engine: engine, contacts: contacts,
                              elapsedSeconds: elapsed, suppressedDiagnostics: log.suppressed,
                              checkpoints: keeper == nil ? nil : (reader.checkpointsTaken, Double(reader.longestCheckpointPause) / 1e9),
                              state: keeper == nil ? nil : (loaded, Double(loadNanos) / 1e9, Double(finalWriteNanos) / 1e9))
        switch outcome {
        case .endOfInput, .stopped: break
        case .strict(let line):
            errors.write(Array("windowkeeper: --strict: stopped at rejected line \(line)\n".utf8))
            status = .strict
        case .ioError(let message):
            errors.write(Array("windowkeeper: \(message)\n".utf8))
            status = .ioError
        }
        if let e = output.error {
            // Said already when it stopped the reader.
            if case .ioError(.writingEvents) = outcome {} else {
                errors.write(Array("windowkeeper: \(RunFailure.writingEvents(errno: e))\n".utf8))
            }
            status = .ioError
        }
        errors.write(Array((summary.json() + "\n").utf8))
        return status
    }
}
