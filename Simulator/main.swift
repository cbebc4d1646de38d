import Foundation
import WindowCore

// windowkeeper-sim: generate load with an independent ground truth, and verify a feed.
let usage = """
usage:
  windowkeeper-sim generate [--seed N] [--contacts N] [--days N] [--start TIME] [--era cbp|pmp|mixed]
                            [--faults none|light|heavy] [--lateness D] [--warn LIST] [--csw D]
                            [--conversation D] [--fep D] [--pmp-from TIME] [--until TIME] [--expect FILE]
                            [--format sinch|meta|mixed] [--identities phone|bsuid|mixed] [--horizon D] [--stats]
      Writes a seeded stream of Sinch callbacks to standard output. With --expect, also writes
      the events `windowkeeper --clock event` must produce with the same options (computed by
      the simulator's own model, not the processor's rules). --format meta writes the same
      conversations as Meta WhatsApp Cloud API webhook bodies (several items per body; whole
      Unix seconds, no contact_id; other channels stay Sinch lines); mixed writes every other
      contact's records as Meta bodies and the rest as Sinch callbacks (default sinch).
      --identities bsuid gives every person a business-scoped user id (SPEC 12): people who
      withhold their phone, people seen by phone, then phone and BSUID (a link), then BSUID
      only, two contacts merged by a later link, new phones, group chats and user calls in Meta
      bodies, BSUID identities in Sinch lines; mixed keeps a third of the people phone-only
      (default phone: the stream of before, byte for byte). Links are forgotten after
      --horizon (default 30d; pass the same to windowkeeper, e.g. 1d, to see links relearned).
      --stats prints what the expected feed exercises (links, merges, groups, calls) on
      standard error.
  windowkeeper-sim load [--rate N|max] [--duration D] [--contacts N] [--seed N]
      Writes a live stream to standard output at N records/s, event times at the wall clock;
      reports the achieved rate on standard error.
  windowkeeper-sim live [--windows N] [--spread D] [--burst] [--csw D] [--warn D] [--shards N] [--binary PATH]
      Timer accuracy: starts windowkeeper --clock wall, makes N windows expire at known moments
      with standard input open, and reports missing, duplicated, early and lateness p50/p99/max.
  windowkeeper-sim verify EXPECTED ACTUAL
      Compares per-contact event sequences, contact_linked and the phone key included (ids and
      order across contacts ignored); exit 1 on
      any difference. ACTUAL may be - for standard input.
  windowkeeper-sim help | -h | --help
      This text (also after any command).

The end-to-end benchmark is the harness: `.build/release/windowkeeper-bench e2e`.
"""

func unwrap<T>(_ value: T?, _ message: @autoclosure () -> String) -> T {
    guard let value else { fail(message()) }
    return value
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("windowkeeper-sim: \(message)\n".utf8))
    exit(2)
}

var args = Array(CommandLine.arguments.dropFirst())
if args == ["--version"] {
    print(Version.line("windowkeeper-sim"))
    exit(0)
}
guard let command = args.first else {
    FileHandle.standardError.write(Data(usage.utf8))
    exit(2)
}
args.removeFirst()
// `-h`, `--help` and `help` print the usage, as does `--help`/`-h` after any command.
if ["-h", "--help", "help"].contains(command) || args.contains("--help") || args.contains("-h") {
    print(usage)
    exit(0)
}

switch command {
case "generate":
    var g = Generator.Options()
    var m = Model.Options()
    var expectPath: String?
    var format = InputFormat.sinch
    var identities = IdentityMix.phone
    var stats = false
    var i = 0
    func value() -> String {
        i += 1
        guard i < args.count else { fail("\(args[i - 1]) needs a value") }
        return args[i]
    }
    func duration(_ s: String) -> Int64 { unwrap(DurationText.parse(s), "'\(s)' is not a duration") }
    func time(_ s: String) -> Int64 { unwrap(Timestamp.parse(s), "'\(s)' is not an RFC 3339 time") }
    while i < args.count {
        switch args[i] {
        case "--seed": g.seed = unwrap(UInt64(value()), "--seed needs a number")
        case "--contacts": g.contacts = unwrap(Int(value()), "--contacts needs a number")
        case "--days": g.days = unwrap(Int(value()), "--days needs a number")
        case "--start": g.start = time(value())
        case "--era": g.era = unwrap(Generator.Era(rawValue: value()), "--era is cbp, pmp or mixed")
        case "--faults": g.faults = unwrap(Generator.Faults(rawValue: value()), "--faults is none, light or heavy")
        case "--lateness": m.lateness = duration(value()); g.lateness = m.lateness
        case "--warn": m.leads = Array(Set(value().split(separator: ",").map { duration(String($0)) }.filter { $0 > 0 }))
        case "--csw": m.csw = duration(value())
        case "--conversation": m.conversation = duration(value())
        case "--fep": m.fep = duration(value())
        case "--pmp-from": m.pmpFrom = time(value()); g.pmpFrom = m.pmpFrom
        case "--until": m.until = time(value())
        case "--expect": expectPath = value()
        case "--format": format = unwrap(InputFormat(rawValue: value()), "--format is sinch, meta or mixed")
        case "--identities": identities = unwrap(IdentityMix(rawValue: value()), "--identities is phone, bsuid or mixed")
        case "--horizon": m.horizon = duration(value())
        case "--stats": stats = true; i += 1; continue
        default: fail("unknown option \(args[i])\n\(usage)")
        }
        i += 1
    }
    var generator = Generator(options: g)
    var writer = StreamWriter(format: format, seed: g.seed)
    var records = generator.generate()
    var people: [String: Int] = [:]
    if identities != .phone {
        var planner = IdentityPlanner(mix: identities, seed: g.seed, start: g.startTime, days: g.days)
        records = planner.plan(records, isMeta: writer.isMeta)
        people = planner.profileCounts
    }
    records = records.map(writer.asWritten)
    for r in records { writer.write(r) }
    writer.flush()
    FileHandle.standardOutput.write(Data(writer.out))
    // The model reads what the lines carry: with identities, the ids each Meta item writes.
    if identities != .phone { records = writer.forModel }
    if let expectPath {
        var model = Model(options: m)
        var feed: [UInt8] = []
        for e in model.run(records) { feed.append(contentsOf: e.encoded) }
        if stats {
            // What the expected feed exercises, one JSON object on standard error.
            var all = model.stats
            for (profile, n) in people { all["people: " + profile] = n }
            for e in model.events {
                if case .window(_, _?) = e { all["events carrying phone", default: 0] += 1 }
            }
            let text = all.filter { !$0.key.isEmpty }.sorted { $0.key < $1.key }.map { "\(LineWriter.quote($0.key)):\($0.value)" }
            FileHandle.standardError.write(Data(("{" + text.joined(separator: ",") + "}\n").utf8))
        }
        guard FileManager.default.createFile(atPath: expectPath, contents: Data(feed)) else { fail("cannot write \(expectPath)") }
    }
case "verify":
    guard args.count == 2 else { fail("verify needs EXPECTED and ACTUAL\n\(usage)") }
    do {
        let report = Verify.compare(expected: try Verify.read(args[0]), actual: try Verify.read(args[1]))
        for line in report.lines { print(line) }
        print("contacts \(report.contacts), expected events \(report.events): missing \(report.missing), extra \(report.extra), different \(report.different)")
        exit(report.ok ? 0 : 1)
    } catch {
        fail("\(error)")
    }
case "bench":
    fail("the end-to-end benchmark is the harness: .build/release/windowkeeper-bench e2e")
case "load", "live":
    var options: [String: String] = [:]
    var flags: Set<String> = []
    var i = 0
    while i < args.count {
        let a = args[i]
        if a == "--burst" { flags.insert(a); i += 1; continue }
        guard a.hasPrefix("--"), i + 1 < args.count else { fail("unexpected argument \(a)\n\(usage)") }
        options[a] = args[i + 1]
        i += 2
    }
    func int(_ key: String, _ d: Int) -> Int { options[key].map { unwrap(Int($0), "\(key) needs a number") } ?? d }
    func dur(_ key: String, _ d: Int64) -> Int64 { options[key].map { unwrap(DurationText.parse($0), "\(key) needs a duration") } ?? d }
    let seed = UInt64(int("--seed", 1))
    do {
        switch command {
        case "load":
            let rate = options["--rate"] == "max" ? nil : Optional(int("--rate", 10_000))
            Load.run(rate: rate, duration: dur("--duration", 10_000), contacts: int("--contacts", 1_000), seed: seed)
        default:
            let ok = try Live.run(windows: int("--windows", 100_000), spreadMillis: dur("--spread", 60_000), burst: flags.contains("--burst"),
                                  csw: dur("--csw", 20_000), warn: dur("--warn", 5_000),
                                  shards: options["--shards"].map { unwrap(Int($0), "--shards") }, binary: options["--binary"])
            exit(ok ? 0 : 1)
        }
    } catch {
        fail("\(error)")
    }
default:
    fail("unknown command \(command)\n\(usage)")
}
