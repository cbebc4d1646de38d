#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
/// ordered stream of batches, (live mode) one ticker per shard, and with `--listen` an HTTP
/// listener on a thread of its own. One task group owns the shards and tickers.
///
/// A run is: open the outputs, start the listener, load the state, run (`runStages`), write
/// the final state, print the summary.
public struct Pipeline: Sendable {
    public let options: RunOptions
    public let clock: any WallClock
    public let input: Int32
    public let output: any EventSink
    public let errors: FDWriter
    /// Told the address `--listen` is bound to, once it is (tests).
    public var onListening: (@Sendable (String) -> Void)?

    public init(options: RunOptions, input: Int32 = 0, output: any EventSink = FDWriter(fd: 1),
                errors: FDWriter = FDWriter(fd: 2), clock: any WallClock = SystemWallClock()) {
        self.options = options
        self.input = input
        self.output = output
        self.errors = errors
        self.clock = clock
    }

    private enum Child { case consumer, ticker }

    /// Why a run could not start: said on standard error, with its exit status.
    private struct StartFailure: Error {
        var message: String
        var status: RunStatus
    }

    /// The shards and what feeds them.
    private struct Shards {
        let actors: [Shard]
        let streams: [(stream: AsyncStream<ShardMessage>, continuation: AsyncStream<ShardMessage>.Continuation)]
        let slots: [DispatchSemaphore]

        /// Sends to shard k; false once it takes no more messages.
        func send(_ k: Int) -> @Sendable (ShardMessage) -> Bool {
            { [continuation = streams[k].continuation] message in
                if case .enqueued = continuation.yield(message) { return true }
                return false
            }
        }
    }

    /// What loading the state gave: the keeper, the windows loaded, how long it took.
    private struct Loaded {
        var keeper: StateKeeper?
        var windows = 0
        var nanos: UInt64 = 0
    }

    /// Standard error's runtime messages, one timed JSON object a line.
    var runLog: RunLog { RunLog(errors: errors, clock: clock) }

    public func run() async -> RunStatus {
        let started = System.monotonicNanos()
        let rejects: FDWriter?
        let token: String?
        let stateLock: StateLock?
        do {
            stateLock = try claimState()
            rejects = try openRejects()
            token = try readToken()
        } catch {
            runLog.error(error.message)
            return error.status
        }
        defer { stateLock?.release() }
        defer { if let rejects { close(rejects.fd) } }
        let health = CheckpointHealth()
        let shards = makeShards()
        let signalFD = Signals.install()
        let log = DiagnosticLog(stderr: errors, rejects: rejects)
        let routes = shards.actors.indices.map { k in
            Reader.Route(send: { [continuation = shards.streams[k].continuation] in continuation.yield($0) }, slots: shards.slots[k])
        }
        let reader = Reader(fd: input, signalFD: signalFD, options: options, routes: routes, log: log, clock: clock, output: output)

        // The listener answers /healthz at once, and /readyz once the state is loaded.
        var server: HTTPServer?
        var metrics: LiveMetrics?
        if let address = options.listen {
            let live = LiveMetrics(shards: shards.actors.count, mode: options.ingest.mode, lateness: options.ingest.lateness, health: health)
            switch address.bind() {
            case .failure(let e):
                runLog.error("--listen \(address): \(e)")
                return .ioError
            case .success(let (fd, bound)):
                let service = LiveService(shards: shards.actors.indices.map(shards.send), metrics: live, clock: clock)
                server = HTTPServer(listener: fd, token: token) { request, reply in service.handle(request, reply: reply) }
                runLog.say("listening", .string(bound))
                onListening?(bound)
            }
            for (k, shard) in shards.actors.enumerated() {
                await shard.reportCounters { live.publish(shard: k, $0, contacts: $1) }
            }
            reader.metrics = live
            metrics = live
            server?.start()
        }

        let loaded: Loaded
        do {
            loaded = try await loadState(into: shards.actors, reader: reader, health: health)
        } catch {
            runLog.error(error.message)
            if let server { await Self.onThread { server.stop() } }
            return error.status
        }
        metrics?.ready = true
        var startFields: [(String, RunLog.Value)] = [("version", .string(Version.text)), ("pid", .int(Int(getpid())))]
        if let keeper = loaded.keeper { startFields += [("state", .string(keeper.path)), ("loaded_windows", .int(loaded.windows))] }
        runLog.say("start", .string("reading"), startFields)

        let (outcome, finalClock) = await runStages(shards, reader: reader, keeper: loaded.keeper, signalFD: signalFD, server: server, health: health)

        var status = RunStatus.ok
        var finalWriteNanos: UInt64 = 0
        if let keeper = loaded.keeper {
            let writeStarted = System.monotonicNanos()
            if await !writeFinalState(keeper, shards.actors, reader: reader, outcome: outcome, finalClock: finalClock) { status = .ioError }
            finalWriteNanos = System.monotonicNanos() - writeStarted
        }
        var engine = EngineCounters()
        var contacts = 0
        for s in shards.actors {
            engine.add(await s.counters)
            contacts += await s.contactCount
        }
        let elapsed = Double(System.monotonicNanos() - started) / 1e9
        let written = health.reading
        let summary = Summary(ingest: reader.ingest.counters, engine: engine, contacts: contacts,
                              elapsedSeconds: elapsed, suppressedDiagnostics: log.suppressed,
                              checkpoints: loaded.keeper == nil ? nil : (written.written, written.failed, Double(reader.longestCheckpointPause) / 1e9),
                              state: loaded.keeper == nil ? nil : (loaded.windows, Double(loaded.nanos) / 1e9, Double(finalWriteNanos) / 1e9))
        if let s = report(outcome) { status = s }
        runLog.say("stop", .string(Self.stopReason(outcome)), [("exit_status", .int(Int(status.rawValue)))])
        errors.write(Array((summary.json() + "\n").utf8))
        return status
    }

    // MARK: the parts of a run

    /// `--state`: its directory checked and the file locked for the run (exit 2 otherwise).
    private func claimState() throws(StartFailure) -> StateLock? {
        guard let path = options.statePath else { return nil }
        do {
            return try StateLock.claim(path)
        } catch {
            throw StartFailure(message: error.description, status: .usage)
        }
    }

    private func openRejects() throws(StartFailure) -> FDWriter? {
        guard let path = options.rejectsPath else { return nil }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw StartFailure(message: "cannot open --rejects \(path): \(String(cString: strerror(errno)))", status: .ioError)
        }
        return FDWriter(fd: fd)
    }

    /// The first line of `--listen-token FILE`.
    private func readToken() throws(StartFailure) -> String? {
        guard let path = options.listenTokenPath else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StartFailure(message: "cannot read --listen-token \(path)", status: .usage)
        }
        let first = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).first ?? ""
        let token = first.hasSuffix("\r") ? String(first.dropLast()) : String(first)
        guard !token.isEmpty else { throw StartFailure(message: "--listen-token \(path): the first line is empty", status: .usage) }
        return token
    }

    private func makeShards() -> Shards {
        let actors = (0..<options.shards).map { _ in
            Shard(options: options.engine, mode: options.ingest.mode, lateness: options.ingest.lateness, sink: output, clock: clock)
        }
        return Shards(actors: actors, streams: actors.map { _ in AsyncStream<ShardMessage>.makeStream() },
                      slots: actors.map { _ in DispatchSemaphore(value: 8) })
    }

    /// Loads `--state` into the shards and the reader, and sets up checkpoints.
    private func loadState(into shards: [Shard], reader: Reader, health: CheckpointHealth) async throws(StartFailure) -> Loaded {
        guard let path = options.statePath else { return Loaded() }
        let k = StateKeeper(path: path, semantics: options.semantics)
        let loadStarted = System.monotonicNanos()
        var loaded = Loaded(keeper: k)
        do {
            if let (file, header) = try k.load() {
                loaded.windows = header.windowCount
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
                reader.restore(clock: header.clock, newest: header.newest, positions: header.positions)
            }
        } catch {
            throw StartFailure(message: error.description, status: { if case .unusable = error { return .usage } else { return .ioError } }())
        }
        // A failed checkpoint is said, counted and tried again at the next one; it does not
        // stop the run (the state at exit is the one whose failure does).
        reader.checkpoint = { [runLog] images, c, newest, positions in
            Self.note(k.write(images, clock: c, newest: newest, positions: positions), of: k, health, runLog)
            return nil
        }
        reader.spillDirectory = k.directory
        loaded.nanos = System.monotonicNanos() - loadStarted
        return loaded
    }

    /// The reader on its thread and the shards (and tickers) in a task group, until the end
    /// of input or a stop; with `--serve-after-eof`, answering on after the end of input
    /// until a stop signal. Returns how reading ended and (event mode, end of input) the
    /// clock C moved to at the end.
    private func runStages(_ shards: Shards, reader: Reader, keeper: StateKeeper?, signalFD: Int32,
                           server: HTTPServer?, health: CheckpointHealth) async -> (ReaderOutcome, Int64?) {
        let mode = options.ingest.mode
        let until = options.until
        return await withTaskGroup(of: Child.self) { group in
            for k in shards.actors.indices {
                let shard = shards.actors[k], stream = shards.streams[k].stream, slot = shards.slots[k]
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
            let outcome = await Self.onThread(stackSize: 16 << 20) { reader.run() }
            var final: Int64?
            if case .endOfInput = outcome, mode == .event {
                var ingest = reader.ingest
                final = ingest.finish(until: until)
                if final == .min { final = nil }
            }
            if options.serveAfterEOF, case .endOfInput = outcome {
                for s in shards.streams { s.continuation.yield(.finish(clock: final)) }
                if let final { reader.metrics?.publish { $0.clock = final } }
                if let keeper {
                    let clockAtEnd = final
                    await Self.onThread { writeServingState(keeper, shards, reader: reader, finalClock: clockAtEnd, health: health) }
                }
                runLog.say("end_of_input", .string("answering until SIGTERM, SIGINT or SIGHUP"))
                // SIGUSR1 meanwhile writes the state again.
                while await Self.onThread({ Self.waitForSignal(signalFD) }) == .checkpoint {
                    if let keeper {
                        let clockAtEnd = final
                        await Self.onThread { writeServingState(keeper, shards, reader: reader, finalClock: clockAtEnd, health: health) }
                    }
                }
            }
            // In-flight queries are answered before the shards finish.
            if let server { await Self.onThread { server.stop() } }
            for s in shards.streams {
                s.continuation.yield(.finish(clock: final))
                s.continuation.finish()
            }
            var consumers = shards.actors.count
            while consumers > 0, let child = await group.next() {
                if case .consumer = child { consumers -= 1 }
            }
            group.cancelAll()
            return (outcome, final)
        }
    }

    /// `--serve-after-eof`: the state at the end of input, written while the shards keep
    /// their tables for the queries still to come (the state is written again at exit).
    private func writeServingState(_ keeper: StateKeeper, _ shards: Shards, reader: Reader, finalClock: Int64?,
                                   health: CheckpointHealth) {
        guard reader.finishCheckpoints() == nil else { return }
        let collected = SnapshotCollector(count: shards.actors.count)
        for (k, s) in shards.streams.enumerated() {
            s.continuation.yield(.snapshot(spillTo: keeper.directory, atLeast: options.spillWindows) { collected.add($0, shard: k, took: $1) })
        }
        let (images, _) = collected.wait()
        guard output.error == nil else { return }
        let c = options.ingest.mode == .event ? (finalClock ?? reader.ingest.clock) : clock.now() - options.ingest.lateness
        Self.note(keeper.write(images, clock: c, newest: reader.ingest.maxEventTime, positions: options.positions ? reader.positions.saved : []),
                  of: keeper, health, runLog)
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

    /// The state at exit; false when it could not be written.
    private func writeFinalState(_ keeper: StateKeeper, _ shards: [Shard], reader: Reader, outcome: ReaderOutcome,
                                 finalClock: Int64?) async -> Bool {
        var ok = true
        // A checkpoint still being written finishes first. A write that failed while
        // reading went on stopped the reader with that error; one that failed after the
        // last chunk is reported here.
        if let e = await Self.onThread({ reader.finishCheckpoints() }) {
            if case .ioError(.writingState) = outcome {} else {
                runLog.error(e)
                ok = false
            }
        }
        // Events were lost after a failed write: the last checkpoint stays, so that a
        // restart emits them again.
        if output.error != nil {
            runLog.error("state not written (events since the last checkpoint were not delivered); \(keeper.path) keeps the last checkpoint")
            return ok
        }
        // In shard order, so that the same state always makes the same file; one shard after
        // the other, each releasing its tables (see `finalImage`).
        var images: [WindowImage] = []
        for s in shards { images.append(await s.finalImage(spillTo: keeper.directory, atLeast: options.spillWindows)) }
        let c = options.ingest.mode == .event ? (finalClock ?? reader.ingest.clock) : clock.now() - options.ingest.lateness
        let positions = options.positions ? reader.positions.saved : []
        if let e = keeper.write(images, clock: c, newest: reader.ingest.maxEventTime, positions: positions) {
            runLog.error(e)
            ok = false
        }
        return ok
    }

    /// Says how reading ended, when that is not a plain end; the exit status it gives.
    private func report(_ outcome: ReaderOutcome) -> RunStatus? {
        var status: RunStatus?
        switch outcome {
        case .endOfInput, .stopped: break
        case .strict(let line):
            runLog.error("--strict: stopped at rejected line \(line)")
            status = .strict
        case .ioError(let message):
            runLog.error("\(message)")
            status = .ioError
        }
        if let e = output.error {
            // Said already when it stopped the reader.
            if case .ioError(.writingEvents) = outcome {} else {
                runLog.error("\(RunFailure.writingEvents(errno: e))")
            }
            status = .ioError
        }
        return status
    }

    // MARK: helpers

    /// Runs blocking work on a thread of its own (never on the cooperative pool, which the
    /// shards need meanwhile).
    static func onThread<T: Sendable>(stackSize: Int = 1 << 20, _ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (done: CheckedContinuation<T, Never>) in
            let thread = Thread { done.resume(returning: work()) }
            thread.stackSize = stackSize
            thread.start()
        }
    }

    enum Signalled { case stop, checkpoint }

    /// Waits until a stop signal (SIGTERM, SIGINT, SIGHUP) or SIGUSR1 has been received.
    static func waitForSignal(_ fd: Int32) -> Signalled {
        guard fd >= 0, !Signals.stopping else { return .stop }
        if Signals.takeCheckpointRequest() { return .checkpoint }
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        while poll(&fds, 1, -1) < 0, errno == EINTR {}
        if Signals.takeStop(fd) { return .stop }
        return Signals.takeCheckpointRequest() ? .checkpoint : waitForSignal(fd)
    }

    /// How the run ended, for the stop line.
    static func stopReason(_ outcome: ReaderOutcome) -> String {
        switch outcome {
        case .endOfInput: Signals.stopping ? "signal" : "end_of_input"
        case .stopped: "signal"
        case .strict: "strict"
        case .ioError: "io_error"
        }
    }
}
