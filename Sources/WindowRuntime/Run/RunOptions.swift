import WindowCore

/// Everything `windowkeeper` is told on its command line.
public struct RunOptions: Sendable, Equatable {
    public var engine = EngineOptions()
    public var ingest = IngestOptions()
    public var shards: Int = max(1, System.activeProcessorCount)
    public var until: Int64?
    public var rejectsPath: String?
    public var maxLineBytes = 1 << 20
    public var strict = false
    public var statePath: String?
    public var checkpointEvery: Int64 = 60_000
    /// Input lines are `SOURCE<TAB>POSITION<TAB>CALLBACK`; the state keeps each source's position.
    public var positions = false
    /// `--listen`: serve live queries and metrics over HTTP.
    public var listen: ListenAddress?
    /// `--listen-token FILE`: requests must carry `Authorization: Bearer` its first line.
    public var listenTokenPath: String?
    /// `--serve-after-eof`: keep answering after the end of input, until SIGTERM/SIGINT.
    public var serveAfterEOF = false
    /// The pricing-era table `/v1/advice` answers by: `--pricing-eras FILE`, else SPEC
    /// section 13's rows with `--pmp-from`.
    public var eras = try! PricingEras.standard()
    public var pricingErasPath: String?
    /// A periodic checkpoint writes the image of a shard holding at least this many windows
    /// to an unnamed file beside the state instead of memory: at 10 M windows the images
    /// would otherwise add ~0.7 GB beside the tables, for a pause about twice as long. Not a
    /// command-line option (tests lower it).
    public var spillWindows = 1_000_000

    public init() {}

    /// The options a state file must agree with.
    public var semantics: StateFile.Semantics {
        StateFile.Semantics(engine: engine, mode: ingest.mode, lateness: ingest.lateness, positions: positions)
    }
}

/// A usage error: one line saying what is wrong (exit 2).
public struct UsageError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension RunOptions {
    public static let helpText = """
    windowkeeper — WhatsApp messaging windows from Sinch Conversation API callbacks and
    Meta WhatsApp Cloud API webhook bodies.

    Reads callbacks as NDJSON on standard input (Sinch callbacks and Meta webhook bodies, one
    per line, mixed freely) and writes window events as NDJSON on standard output:
    window_opened, window_updated, window_expiring, window_expired, for the customer_service,
    conversation and free_entry_point windows of every person. A person known by a phone and
    a business-scoped user id (US.1349…) is one contact: an item carrying both links them
    (contact_linked), the phone's windows join the user id's, and events carry "phone".
    Diagnostics and a closing summary go to standard error.

    USAGE
      windowkeeper [options] < callbacks.ndjson > events.ndjson
      queue-consumer | windowkeeper --clock wall | jq .

    CLOCK
      --clock wall|event      wall (default): live, C = now − lateness, timers fire on real
                              time while input is quiet. event: replay, C = largest event
                              time seen − lateness; at end of input C moves to --until (or the
                              largest event time) and what is due fires.
      --lateness DUR          how far behind the newest time C stays (default 0)
      --until TIME            event mode: where C moves at end of input (RFC 3339)
      --horizon DUR           records older than C − horizon are too_late (default 30d); a link
                              between a phone and a user id is forgotten once C passes the
                              latest item of either + horizon
      --max-future DUR        wall mode: records more than this ahead of now are
                              future_timestamp (default 5m)

    WINDOWS
      --csw DUR               customer service window (default 24h)
      --conversation DUR      CBP conversation window (default 24h)
      --fep DUR               free-entry-point window (default 72h)
      --pmp-from TIME         receipts without pricing_model at or after this time are PMP
                              (default 2025-07-01T00:00:00Z)
      --warn LIST             window_expiring leads, e.g. 2h,15m; 0 disables (default 1h);
                              each lead must be shorter than --csw, --conversation and --fep
      --pricing-eras FILE     the pricing-era table /v1/advice answers by (JSON, see
                              docs/advice.md; default: SPEC 13's four rows, the first PMP
                              row starting at --pmp-from)

    INPUT AND RUN
      --shards N              shard actors (default: active processor count)
      --rejects FILE          append every unused line verbatim (dead letters)
      --max-line-bytes N      longer lines are line_too_long (default 1048576; K, M suffixes)
      --strict                stop at the first rejected line, exit status 3
      --positions             every line is SOURCE<TAB>POSITION<TAB>CALLBACK (a queue
                              partition and offset); lines without both are
                              missing_position. The state keeps each source's last position:
                              resume each source's consumer after it (status --positions)

    STATE
      --state FILE            load window state from FILE at start (if present); write it
                              atomically at exit, on SIGTERM/SIGINT/SIGHUP, on SIGUSR1 and every
                              --checkpoint-every. FILE.lock beside it is locked for the run.
                              From 1 M windows per shard, unnamed files in FILE's directory
                              hold the shards' images (about FILE's size while running)
      --checkpoint-every DUR  periodic checkpoint interval (default 60s; 0: only at exit)
      windowkeeper status --state FILE [--app ID] [--contact C] [--at TIME]
                              print the open windows as NDJSON with remaining_s as of TIME
                              (default now); exit 1 when the contact asked for has none
      windowkeeper status --state FILE --advice --app A --contact C [--at TIME]
                              the send advice of /v1/advice, from the file
      windowkeeper status --state FILE --positions
                              print each source's saved position as NDJSON

    ASK IT LIVE
      --listen ADDR           serve HTTP/1.1 on ADDR (HOST:PORT with a literal IPv4/IPv6
                              address or localhost, port 0 for a free one; or unix:PATH):
                              GET /v1/windows?app_id=A&contact=C[&window=K][&category=CAT],
                              GET /v1/advice?app_id=A&contact=C[&at=TIME] (may I send now,
                              and what will it cost: docs/advice.md),
                              /metrics (Prometheus), /healthz, /readyz. The bound address is
                              printed on standard error as {"listening":"HOST:PORT"}
      --listen-token FILE     every request must carry Authorization: Bearer <FILE's first
                              line> (required for a non-loopback HOST)
      --serve-after-eof       at end of input keep answering (event mode: after firing what
                              is due and writing --state) until SIGTERM, SIGINT or SIGHUP

    PARTITIONING
      windowkeeper key [--partitions N] < callbacks.ndjson
                              prefix each line with KEY<TAB>: its contact key APP_ID/CONTACT
                              (or - without one), or with --partitions its partition 0…N−1
                              from the hash that picks shards (0 without a contact key)
      -h, --help              this text

    Durations: 90s, 15m, 1h30m, 3d, 250ms, 0. Times: RFC 3339, e.g. 2024-05-16T09:00:00Z.
    Exit status: 0 end of input or SIGTERM/SIGINT/SIGHUP after a clean drain; 1 I/O error;
    2 usage error or unusable --state; 3 --strict stopped at a rejected line. SIGUSR1 writes
    a checkpoint now. --version prints the version.
    """

    /// Parses `arguments` (without the program name). `nil` means `--help` was asked for.
    public static func parse(_ arguments: [String]) throws(UsageError) -> RunOptions? {
        var o = RunOptions()
        var i = 0
        func value(_ name: String, _ inline: String?) throws(UsageError) -> String {
            if let inline { return inline }
            i += 1
            guard i < arguments.count else { throw UsageError("\(name) needs a value") }
            return arguments[i]
        }
        func duration(_ name: String, _ text: String, positive: Bool = false) throws(UsageError) -> Int64 {
            guard let d = DurationText.parse(text) else {
                throw UsageError("\(name): '\(text)' is not a duration (like 90s, 15m, 1h30m, 3d, 250ms, 0)")
            }
            if positive, d <= 0 { throw UsageError("\(name) must be longer than 0") }
            return d
        }
        func time(_ name: String, _ text: String) throws(UsageError) -> Int64 {
            guard let t = Timestamp.parse(text) else { throw UsageError("\(name): '\(text)' is not an RFC 3339 time") }
            return t
        }
        while i < arguments.count {
            var arg = arguments[i]
            var inline: String?
            if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
                inline = String(arg[arg.index(after: eq)...])
                arg = String(arg[..<eq])
            }
            switch arg {
            case "-h", "--help": return nil
            case "--clock":
                let v = try value(arg, inline)
                guard let mode = ClockMode(rawValue: v) else { throw UsageError("--clock must be wall or event, not '\(v)'") }
                o.ingest.mode = mode
            case "--lateness": o.ingest.lateness = try duration(arg, value(arg, inline))
            case "--horizon": o.ingest.horizon = try duration(arg, value(arg, inline))
            case "--max-future": o.ingest.maxFuture = try duration(arg, value(arg, inline))
            case "--until": o.until = try time(arg, value(arg, inline))
            case "--pmp-from":
                o.engine.pmpFrom = try time(arg, value(arg, inline))
                o.ingest.pmpFrom = o.engine.pmpFrom
            case "--csw": o.engine.csw = try duration(arg, value(arg, inline), positive: true)
            case "--conversation": o.engine.conversation = try duration(arg, value(arg, inline), positive: true)
            case "--fep": o.engine.fep = try duration(arg, value(arg, inline), positive: true)
            case "--warn":
                let v = try value(arg, inline)
                var leads: [Int64] = []
                for part in v.split(separator: ",", omittingEmptySubsequences: false) {
                    leads.append(try duration(arg, String(part)))
                }
                o.engine.setWarnLeads(leads)
                if o.engine.warnLeads.count > 64 { throw UsageError("--warn takes at most 64 leads") }
            case "--shards":
                let v = try value(arg, inline)
                guard let n = Int(v), n >= 1, n <= 1024 else { throw UsageError("--shards must be a whole number from 1 to 1024, not '\(v)'") }
                o.shards = n
            case "--rejects":
                let v = try value(arg, inline)
                guard !v.isEmpty else { throw UsageError("--rejects needs a file name") }
                o.rejectsPath = v
            case "--max-line-bytes":
                let v = try value(arg, inline)
                guard let n = parseBytes(v), n >= 1 else { throw UsageError("--max-line-bytes must be a positive number of bytes (K, M suffixes), not '\(v)'") }
                o.maxLineBytes = n
            case "--state":
                let v = try value(arg, inline)
                guard !v.isEmpty else { throw UsageError("--state needs a file name") }
                o.statePath = v
            case "--checkpoint-every": o.checkpointEvery = try duration(arg, value(arg, inline))
            case "--strict":
                if inline != nil { throw UsageError("--strict takes no value") }
                o.strict = true
            case "--listen": o.listen = try ListenAddress.parse(value(arg, inline))
            case "--listen-token":
                let v = try value(arg, inline)
                guard !v.isEmpty else { throw UsageError("--listen-token needs a file name") }
                o.listenTokenPath = v
            case "--serve-after-eof":
                if inline != nil { throw UsageError("--serve-after-eof takes no value") }
                o.serveAfterEOF = true
            case "--positions":
                if inline != nil { throw UsageError("--positions takes no value") }
                o.positions = true
            case "--pricing-eras":
                let v = try value(arg, inline)
                guard !v.isEmpty else { throw UsageError("--pricing-eras needs a file name") }
                o.pricingErasPath = v
            default:
                throw UsageError(arg.hasPrefix("-") ? "unknown option \(arg)" : "unexpected argument '\(arg)' (input is read from standard input)")
            }
            i += 1
        }
        if let lead = o.engine.warnLeads.max(), lead >= min(o.engine.csw, o.engine.conversation, o.engine.fep) {
            let given = arguments.contains { $0 == "--warn" || $0.hasPrefix("--warn=") }
            throw UsageError("--warn \(DurationText.format(lead))\(given ? "" : " (the default)") must be shorter than each of --csw, --conversation and --fep")
        }
        o.eras = try pricingEras(path: o.pricingErasPath, pmpFrom: o.engine.pmpFrom)
        if o.until != nil, o.ingest.mode != .event {
            throw UsageError("--until applies to --clock event only")
        }
        if o.listen == nil, o.listenTokenPath != nil || o.serveAfterEOF {
            throw UsageError("\(o.serveAfterEOF ? "--serve-after-eof" : "--listen-token") needs --listen")
        }
        if let listen = o.listen, !listen.isLocal, o.listenTokenPath == nil {
            throw UsageError("--listen on a non-loopback address needs --listen-token FILE")
        }
        return o
    }

    /// The table of `--pricing-eras FILE` (its times as written), else the default rows
    /// with `--pmp-from`; a problem is a usage error.
    static func pricingEras(path: String?, pmpFrom: Int64) throws(UsageError) -> PricingEras {
        if let path { return try PricingErasFile.load(path) }
        do { return try PricingEras.standard(pmpFrom: pmpFrom) } catch { throw UsageError(error.message) }
    }

    static func parseBytes(_ text: String) -> Int? {
        let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("K", 1 << 10), ("M", 1 << 20), ("k", 1 << 10), ("m", 1 << 20)]
        for (suffix, unit) in units where text.hasSuffix(suffix) {
            guard let n = Int(text.dropLast(suffix.count)), n <= Int.max / unit else { return nil }
            return n * unit
        }
        return Int(text)
    }
}
