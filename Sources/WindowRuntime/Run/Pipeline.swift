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

    /// The shards and their inboxes.
    private struct Shards {
        let actors: [Shard]
        let inboxes: [ShardInbox]
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

        // The listener answers /healthz at once, and /readyz once the state is loaded.
        var server: HTTPServer?
        var metrics: LiveMetrics?
        var directory: LinkDirectory?
        if let address = options.listen {
            let live = LiveMetrics(shards: shards.actors.count, mode: options.ingest.mode, lateness: options.ingest.lateness, health: health)
            switch address.bind() {
            case .failure(let e):
                runLog.error("--listen \(address): \(e)")
                return .ioError
            case .success(let (fd, bound)):
                let links = LinkDirectory()
                directory = links
                let service = LiveService(shards: shards.inboxes.map { inbox in { inbox.offer($0) } }, metrics: live, clock: clock,
                                          eras: options.eras, directory: links)
                server = HTTPServer(listener: fd, token: token) { request, reply in service.handle(request, reply: reply) }
                runLog.say("listening", .string(bound))
                onListening?(bound)
            }
            for (k, shard) in shards.actors.enumerated() {
                await shard.reportCounters { live.publish(shard: k, $0, contacts: $1) }
            }
            metrics = live
            server?.start()
        }

        let loaded: Loaded
        var sequencer = Sequencer(options: sequencerOptions)
        do {
            loaded = try await loadState(into: shards.actors, sequencer: &sequencer)
            directory?.apply(sequencer.links.all.map { ($0, true) })
        } catch {
            runLog.error(error.message)
            if let server { await Self.onThread { server.stop() } }
            return error.status
        }
        metrics?.ready = true
        var startFields: [(String, RunLog.Value)] = [("version", .string(Version.text)), ("pid", .int(Int(getpid())))]
        if let keeper = loaded.keeper { startFields += [("state", .string(keeper.path)), ("loaded_windows", .int(loaded.windows))] }
        runLog.say("start", .string("reading"), startFields)

        let checkpointer = loaded.keeper.map {
            Checkpointer(keeper: $0, options: options, clock: clock, output: output, log: runLog, health: health, metrics: metrics)
        }
        let reader = InputReader(fd: input, signalFD: signalFD, options: options, inboxes: shards.inboxes, log: log,
                                 clock: clock, output: output, checkpointer: checkpointer, metrics: metrics, directory: directory)
        let (outcome, ended) = await runStages(shards, reader: reader, from: sequencer, signalFD: signalFD, server: server)

        var status = RunStatus.ok
        var finalWriteNanos: UInt64 = 0
        if let checkpointer {
            let writeStarted = System.monotonicNanos()
            var stoppedByStateError = false
            if case .ioError(.writingState) = outcome { stoppedByStateError = true }
            if await !checkpointer.writeAtExit(shards.actors, ended, stoppedByStateError: stoppedByStateError) { status = .ioError }
            finalWriteNanos = System.monotonicNanos() - writeStarted
        }
        var engine = EngineCounters()
        var contacts = 0
        for s in shards.actors {
            engine.add(await s.counters)
            contacts += await s.contactCount
        }
        let elapsed = Double(System.monotonicNanos() - started) / 1e9
        let taken = checkpointer?.taken
        let written = health.reading
        let summary = Summary(ingest: ended.ingest.counters, engine: engine, contacts: contacts,
                              elapsedSeconds: elapsed, suppressedDiagnostics: log.suppressed,
                              checkpoints: taken.map { (written.written, written.failed, Double($0.longestPause) / 1e9) },
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
        return Shards(actors: actors, inboxes: actors.map { _ in ShardInbox() })
    }

    private var sequencerOptions: Sequencer.Options {
        var o = Sequencer.Options()
        o.ingest = options.ingest
        o.shards = options.shards
        o.strict = options.strict
        o.positions = options.positions
        o.maxLineBytes = options.maxLineBytes
        o.publishesLinks = options.listen != nil
        return o
    }

    /// Loads `--state` into the shards and the sequencer.
    private func loadState(into shards: [Shard], sequencer: inout Sequencer) async throws(StartFailure) -> Loaded {
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
                sequencer.restore(clock: header.clock, newest: header.newest, positions: header.positions, links: header.links)
                // Each user id's shard shows its linked phone again on its events.
                for (i, shard) in shards.enumerated() { await shard.restoreLinks(header.links, index: i, count: count, horizon: options.ingest.horizon) }
            }
        } catch {
            throw StartFailure(message: error.description, status: { if case .unusable = error { return .usage } else { return .ioError } }())
        }
        loaded.nanos = System.monotonicNanos() - loadStarted
        return loaded
    }

    /// The reader on its thread and the shards (and tickers) in a task group, until the end
    /// of input or a stop; with `--serve-after-eof`, answering on after the end of input
    /// until a stop signal. Returns how reading ended and the sequencer as reading left it
    /// (event mode, end of input: the clock moved to where the shards finished).
    private func runStages(_ shards: Shards, reader: InputReader, from start: Sequencer, signalFD: Int32,
                           server: HTTPServer?) async -> (ReaderOutcome, Sequencer) {
        let mode = options.ingest.mode
        let until = options.until
        return await withTaskGroup(of: Child.self) { group in
            for k in shards.actors.indices {
                let shard = shards.actors[k], inbox = shards.inboxes[k]
                group.addTask {
                    await inbox.deliver(to: shard)
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
            let (outcome, ended) = await Self.onThread(stackSize: 16 << 20) { reader.run(start) }
            var sequencer = ended
            var final: Int64?
            if case .endOfInput = outcome, mode == .event {
                final = sequencer.finishInput(until: until)
                // Links the final clock forgot are forgotten for queries too.
                var actions: [SequencerAction] = []
                sequencer.linkChanges(into: &actions)
                for case .links(let changes) in actions { reader.directory?.apply(changes) }
            }
            if options.serveAfterEOF, case .endOfInput = outcome {
                for inbox in shards.inboxes { inbox.offer(.finish(clock: final)) }
                if let final { reader.metrics?.publish { $0.clock = final } }
                let atEnd = sequencer
                if let checkpointer = reader.checkpointer {
                    await Self.onThread { checkpointer.writeAtEndOfInput(shards.inboxes, atEnd) }
                }
                runLog.say("end_of_input", .string("answering until SIGTERM, SIGINT or SIGHUP"))
                // SIGUSR1 meanwhile writes the state again.
                while await Self.onThread({ Self.waitForSignal(signalFD) }) == .checkpoint {
                    if let checkpointer = reader.checkpointer {
                        await Self.onThread { checkpointer.writeAtEndOfInput(shards.inboxes, atEnd) }
                    }
                }
            }
            // In-flight queries are answered before the shards finish.
            if let server { await Self.onThread { server.stop() } }
            for inbox in shards.inboxes { inbox.finish(clock: final) }
            var consumers = shards.actors.count
            while consumers > 0, let child = await group.next() {
                if case .consumer = child { consumers -= 1 }
            }
            group.cancelAll()
            return (outcome, sequencer)
        }
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
