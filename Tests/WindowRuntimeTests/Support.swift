import Foundation
import Synchronization
import WindowCore
@testable import WindowRuntime

enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }
}

/// A clock the test moves by hand; sleepers wake when it passes their deadline, or when
/// their task is cancelled (as the system clock does).
final class ManualClock: WallClock {
    private struct Sleeper {
        var id: Int
        var deadline: Int64
        var wake: CheckedContinuation<Void, Never>
    }
    private struct State {
        var now: Int64
        var nextID = 0
        var sleepers: [Sleeper] = []
    }
    private let state: Mutex<State>

    init(now: Int64) { state = Mutex(State(now: now)) }

    func now() -> Int64 { state.withLock { $0.now } }

    func wait(until deadline: Int64) async {
        let id = state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s -> Bool in
                    if s.now >= deadline || Task.isCancelled { return true }
                    s.sleepers.append(Sleeper(id: id, deadline: deadline, wake: c))
                    return false
                }
                if ready { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { s -> CheckedContinuation<Void, Never>? in
                guard let i = s.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return s.sleepers.remove(at: i).wake
            }
            c?.resume()
        }
    }

    func advance(to t: Int64) {
        let woken = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.now = max(s.now, t)
            let due = s.sleepers.filter { $0.deadline <= s.now }.map(\.wake)
            s.sleepers.removeAll { $0.deadline <= s.now }
            return due
        }
        for c in woken { c.resume() }
    }
}

/// A sink whose lines a test reads back.
protocol RecordingSink: EventSink {
    var lines: [String] { get }
}

extension MemorySink: RecordingSink {}

/// Keeps whole writes until they would pass `limit` bytes; that write and all after it fail
/// with EPIPE (a consumer that went away).
final class FailingSink: RecordingSink {
    private let kept = MemorySink()
    private let state = Mutex<(bytes: Int, error: Int32?)>((0, nil))
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func write(_ bytes: UnsafeRawBufferPointer) {
        let accepted = state.withLock { s -> Bool in
            guard s.error == nil, s.bytes + bytes.count <= limit else {
                s.error = EPIPE
                return false
            }
            s.bytes += bytes.count
            return true
        }
        if accepted { kept.write(bytes) }
    }

    var error: Int32? { state.withLock { $0.error } }
    var lines: [String] { kept.lines }
}

/// Runs the pipeline on `input` in memory; returns the event lines and the stderr text.
func runPipeline(_ input: String, sink: any RecordingSink = MemorySink(),
                 configure: (inout RunOptions) -> Void = { _ in }) async throws -> (events: [String], stderr: String, status: RunStatus) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wk-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let inPath = dir.appendingPathComponent("in.ndjson").path
    let errPath = dir.appendingPathComponent("err.ndjson").path
    try input.write(toFile: inPath, atomically: false, encoding: .utf8)
    let inFD = open(inPath, O_RDONLY)
    let errFD = open(errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    defer { close(inFD); close(errFD) }
    var options = RunOptions()
    options.ingest.mode = .event
    configure(&options)
    let status = await Pipeline(options: options, input: inFD, output: sink, errors: FDWriter(fd: errFD)).run()
    let stderr = try String(contentsOfFile: errPath, encoding: .utf8)
    return (sink.lines, stderr, status)
}

/// Event lines grouped per (app_id, contact), ids removed, in their order.
func perContact(_ lines: [String]) -> [String: [String]] {
    var out: [String: [String]] = [:]
    for line in lines {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
        let key = "\(object["app_id"] ?? "")|\(object["contact"] ?? "")"
        let withoutID = line.replacingOccurrences(of: #","id":"[0-9a-f]{16}"\}"#, with: "}", options: .regularExpression)
        out[key, default: []].append(withoutID)
    }
    return out
}

/// Builders for callback lines (runtime tests).
enum Callback {
    static func time(_ ms: Int64) -> String { Timestamp.format(ms) }

    static func inbound(_ contact: String, at t: Int64, app: String = "APP") -> String {
        "{\"app_id\":\"\(app)\",\"event_time\":\"\(time(t))\",\"message\":{\"channel_identity\":{\"channel\":\"WHATSAPP\",\"identity\":\"\(contact)\"},\"contact_id\":\"ID-\(contact)\"}}"
    }

    static func delivered(_ contact: String, id: String, at t: Int64, category: String = "MARKETING", model: String? = nil) -> String {
        var meta = "{\\\"pricing_category\\\":\\\"\(category)\\\",\\\"whatsapp_conversation_id\\\":\\\"\(id)\\\""
        if let model { meta += ",\\\"pricing_model\\\":\\\"\(model)\\\"" }
        meta += "}"
        return "{\"app_id\":\"APP\",\"event_time\":\"\(time(t))\",\"message_delivery_report\":{\"status\":\"DELIVERED\",\"channel_identity\":{\"channel\":\"WHATSAPP\",\"identity\":\"+\(contact)\"}},\"message_metadata\":\"\(meta)\"}"
    }

    /// A seeded stream over `contacts` contacts: messages, receipts of several conversations,
    /// PMP free entry points, arriving slightly out of order.
    static func stream(seed: UInt64, lines: Int, contacts: Int) -> [String] {
        var rng = SplitMix64(seed: seed)
        func next() -> UInt64 { rng.next() }
        let base = Timestamp.parse("2025-06-20T00:00:00Z")!
        var t = base
        var out: [String] = []
        for _ in 0..<lines {
            t += Int64(next() % 600_000)
            let contact = "4670000\(next() % UInt64(contacts))"
            let when = t - Int64(next() % 3_600_000)
            switch next() % 4 {
            case 0, 1: out.append(inbound(contact, at: when))
            case 2: out.append(delivered(contact, id: "conv-\(contact)-\(when / 86_400_000)", at: when))
            default: out.append(delivered(contact, id: "", at: when, category: "FREE_ENTRY_POINT", model: "PMP"))
            }
        }
        return out
    }
}
