// libFuzzer target: bytes through the whole ingest path in one thread — framing (`LineFramer`,
// over-long lines), decoding (Sinch and Meta bodies, `--positions` prefixes), the sequencer's
// clock and routing, the engine with its timers, and event encoding. See docs/reliability.md.
//
// The first input byte picks the configuration (clock, `--positions`, warning leads, a
// framing chunk size); the rest is the stream. Properties checked on every input:
//   - the feed bytes equal the encoding of the engine's event values (hot path = value path);
//   - every feed line is a JSON object starting `{"event":"window_…` or `contact_linked`,
//     valid UTF-8, its keys in the order of SPEC section 5;
//   - the output and the diagnostics do not depend on how the stream is cut into reads or
//     into decoded segments;
//   - `\r\n` line ends give the same output and diagnostic codes as `\n`;
//   - the engine's counters agree with the events it emitted.
import WindowCore

private let wallNow: Int64 = Timestamp.parse("2024-05-16T12:00:00Z")!

private struct Config {
    var mode: ClockMode
    var positions: Bool
    var warn: Bool
    var chunk: Int
    var segmentLines: Int

    init(_ b: UInt8) {
        mode = b & 1 == 0 ? .event : .wall
        positions = b & 2 != 0
        warn = b & 4 != 0
        chunk = [1, 3, 7, 64][Int(b >> 3) & 3]
        segmentLines = [1, 2, 5, 1000][Int(b >> 5) & 3]
    }
}

private struct Outcome: Equatable {
    var output: [UInt8] = []
    var reports: [String] = []
    var codes: [String] { reports.map { String($0.prefix { $0 != ":" }) } }
}

/// One line of the stream as the framer handed it on.
private enum Piece {
    case line([UInt8])
    case long([[UInt8]], validUTF8: Bool)
}

private func frame(_ input: UnsafeBufferPointer<UInt8>, chunk: Int, maxLineBytes: Int) -> [Piece] {
    var framer = LineFramer(maxLineBytes: maxLineBytes)
    var pieces: [Piece] = []
    var parts: [[UInt8]] = []
    func sink(_ p: FramedPiece) {
        switch p {
        case .line(let l): pieces.append(.line(Array(l)))
        case .longPart(let b): parts.append(Array(b))
        case .longEnd(let valid):
            pieces.append(.long(parts, validUTF8: valid))
            parts = []
        }
    }
    var i = 0
    while i < input.count {
        let n = min(chunk, input.count - i)
        framer.feed(UnsafeBufferPointer(rebasing: input[i..<(i + n)]), sink)
        i += n
    }
    framer.finish(sink)
    return pieces
}

private func run(_ input: [UInt8], _ c: Config, chunk: Int, segmentLines: Int, maxLineBytes: Int = 1 << 20) -> Outcome {
    var options = Sequencer.Options()
    options.ingest.mode = c.mode
    options.positions = c.positions
    options.maxLineBytes = maxLineBytes
    var sequencer = Sequencer(options: options)
    var engineOptions = EngineOptions()
    if c.warn { engineOptions.setWarnLeads([3_600_000, 600_000]) }
    var engine = WindowEngine(options: engineOptions)
    engine.recordsEvents = true
    var outcome = Outcome()
    let pieces = input.withUnsafeBufferPointer { frame($0, chunk: chunk, maxLineBytes: maxLineBytes) }

    func carryOut(_ actions: [SequencerAction]) {
        for action in actions {
            switch action {
            case .report(let d, let line, let detail): outcome.reports.append("\(d.code)@\(line): \(detail)")
            case .tooLate: outcome.reports.append("too_late notice")
            case .reject, .links: break
            case .stop(let line): outcome.reports.append("stop@\(line)")
            case .send(_, let batch): apply(batch)
            }
        }
    }

    // As `Shard.process` / `processPeople` do, on one engine.
    func apply(_ batch: ShardBatch) {
        if c.mode == .wall { engine.advance(to: wallNow) }
        var walk = BatchWalk(batch)
        // One engine holds every shard's contacts: a take always comes before its join.
        let waiting = walk.run(on: &engine, ticks: c.mode == .event, firesAfterJoin: c.mode == .wall)
        precondition(waiting == nil, "a join whose take has not happened on one engine")
    }

    var actions: [SequencerAction] = []
    var k = 0
    while k < pieces.count {
        switch pieces[k] {
        case .long(let parts, let valid):
            for part in parts { part.withUnsafeBufferPointer { sequencer.longLinePart($0, into: &actions) } }
            sequencer.longLineEnded(validUTF8: valid, into: &actions)
            sequencer.endRound(into: &actions)
            carryOut(actions)
            actions.removeAll()
            k += 1
        case .line:
            // A segment of up to `segmentLines` consecutive short lines.
            var lines: [[UInt8]] = []
            while k < pieces.count, lines.count < segmentLines, case .line(let l) = pieces[k] {
                lines.append(l)
                k += 1
            }
            let storage = lines.map { l -> UnsafeMutableBufferPointer<UInt8> in
                let b = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, l.count))
                _ = b.initialize(from: l)
                return b
            }
            var segment = DecodedSegment(positioned: c.positions)
            for (b, l) in zip(storage, lines) { segment.append(UnsafeBufferPointer(rebasing: b[0..<l.count])) }
            segment.decode()
            sequencer.segmentDecoded(segment, now: wallNow, into: &actions)
            carryOut(actions)
            actions.removeAll()
            for b in storage { b.deallocate() }
        }
    }
    if c.mode == .event, let until = sequencer.finishInput(until: nil) { engine.advance(to: until) }
    outcome.output = engine.output.array

    // The hot path and the value path agree.
    var expected = ByteBuffer()
    for e in engine.events { e.encode(into: &expected) }
    check(expected.array == engine.output.array, "feed bytes differ from the encoding of the event values")
    // Counters agree with the events.
    check(engine.counters.events.reduce(0, +) == engine.events.count,
          "counters count \(engine.counters.events.reduce(0, +)) events, \(engine.events.count) emitted")
    checkFeed(outcome.output)
    return outcome
}

private let keyOrder = ["event", "window", "app_id", "contact", "phone", "contact_id", "category", "conversation_id",
                        "opened_at", "expires_at", "remaining_s", "due_at", "id"].map { Array("\"\($0)\":".utf8) }

/// Every line a JSON object of SPEC section 5: `{"event":…`, valid UTF-8, known keys in order.
private func checkFeed(_ feed: [UInt8]) {
    guard !feed.isEmpty else { return }
    check(feed.last == 0x0A, "the feed does not end with a newline")
    for line in feed.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast() {
        let l = Array(line)
        check(l.starts(with: Array("{\"event\":\"".utf8)) && l.last == UInt8(ascii: "}"), "not an event object: \(String(decoding: l, as: UTF8.self))")
        check(l.withUnsafeBufferPointer { UTF8Validator.isValid($0) }, "feed line is not UTF-8")
        check(!l.contains(where: { $0 < 0x20 }), "raw control byte in a feed line")
        // Keys at the top level, in order: scan outside strings.
        var inString = false, escaped = false, depth = 0, lastKey = -1
        var i = 0
        while i < l.count {
            let b = l[i]
            if inString {
                if escaped { escaped = false } else if b == 0x5C { escaped = true } else if b == 0x22 { inString = false }
                i += 1
                continue
            }
            if b == 0x7B || b == 0x5B { depth += 1 } else if b == 0x7D || b == 0x5D { depth -= 1 }
            if b == 0x22 {
                if depth == 1, let k = keyOrder.firstIndex(where: { l[i...].starts(with: $0) }) {
                    check(k > lastKey, "keys out of SPEC order: \(String(decoding: l, as: UTF8.self))")
                    lastKey = k
                }
                inString = true
            }
            i += 1
        }
        check(!inString && depth == 0, "unbalanced feed line: \(String(decoding: l, as: UTF8.self))")
    }
}

private func difference(_ a: Outcome, _ b: Outcome) -> String {
    if a.reports != b.reports { return "diagnostics \(a.reports) vs \(b.reports)" }
    return "feed\n\(String(decoding: a.output, as: UTF8.self))vs\n\(String(decoding: b.output, as: UTF8.self))"
}

private func check(_ ok: Bool, _ message: @autoclosure () -> String) {
    if !ok { fatalError("property failed: \(message())") }
}

/// The input with every `\n` not already preceded by `\r` as `\r\n` (and the last line too).
private func withCR(_ input: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(input.count + input.count / 8 + 1)
    for (i, b) in input.enumerated() {
        if b == 0x0A, i == 0 || input[i - 1] != 0x0D { out.append(0x0D) }
        out.append(b)
    }
    if let last = input.last, last != 0x0A, last != 0x0D { out.append(0x0D) }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let c = Config(data[0])
    let input = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let whole = run(input, c, chunk: max(input.count, 1), segmentLines: 1000)
    let cut = run(input, c, chunk: c.chunk, segmentLines: c.segmentLines)
    check(whole == cut, "output depends on how the input is cut (chunk \(c.chunk), segment \(c.segmentLines) lines): \(difference(cut, whole))")
    if !input.contains(0x0D) {
        let cr = run(withCR(input), c, chunk: max(input.count, 1), segmentLines: 1000)
        // Details may count the `\r` (a byte offset at the end of the line); the codes may not differ.
        check(cr.output == whole.output && cr.codes == whole.codes, "\\r\\n gives another result than \\n: \(difference(cr, whole))")
    }
    // Over-long lines (small limit): framing in pieces equals framing whole.
    check(run(input, c, chunk: max(input.count, 1), segmentLines: 1000, maxLineBytes: 200)
          == run(input, c, chunk: c.chunk, segmentLines: c.segmentLines, maxLineBytes: 200), "long-line framing depends on the reads")
    return 0
}
