import Testing
@testable import WindowCore

/// Input lines kept in memory while a test's segments refer to them.
final class SegmentLines {
    private var storage: [UnsafeMutableBufferPointer<UInt8>] = []

    deinit { for b in storage { b.deallocate() } }

    /// The lines, decoded as one segment.
    func segment(_ lines: [String], positioned: Bool = false) -> DecodedSegment {
        var segment = DecodedSegment(positioned: positioned)
        for line in lines { segment.append(bytes(line)) }
        segment.decode()
        return segment
    }

    func bytes(_ text: String) -> UnsafeBufferPointer<UInt8> {
        let count = text.utf8.count
        let b = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, count))
        _ = b.initialize(from: text.utf8)
        storage.append(b)
        return UnsafeBufferPointer(rebasing: b[0..<count])
    }
}

/// A sequencer fed by hand, its actions read back as short strings:
/// `report invalid_json @2`, `reject <bytes>` (`+` when the line ends), `send 1: [0,2] ticks [0@09:00:01]`,
/// `stop @2`, `too_late notice`.
struct SequencerHarness {
    var sequencer: Sequencer
    let lines = SegmentLines()

    init(shards: Int = 1, mode: ClockMode = .event, strict: Bool = false, positions: Bool = false) {
        var o = Sequencer.Options()
        o.ingest.mode = mode
        o.shards = shards
        o.strict = strict
        o.positions = positions
        o.maxLineBytes = 100
        sequencer = Sequencer(options: o)
    }

    mutating func feed(_ text: [String], positioned: Bool = false, now: Int64 = 0) -> [String] {
        var actions: [SequencerAction] = []
        sequencer.segmentDecoded(lines.segment(text, positioned: positioned), now: now, into: &actions)
        return actions.map(Self.describe)
    }

    mutating func longLine(_ parts: [String], validUTF8: Bool = true) -> [String] {
        var actions: [SequencerAction] = []
        for p in parts { sequencer.longLinePart(lines.bytes(p), into: &actions) }
        sequencer.longLineEnded(validUTF8: validUTF8, into: &actions)
        return actions.map(Self.describe)
    }

    static func describe(_ action: SequencerAction) -> String {
        switch action {
        case .report(let d, let line, _): return "report \(d.code) @\(line)"
        case .tooLate: return "too_late notice"
        case .reject(let bytes, let end): return "reject \(String(decoding: bytes, as: UTF8.self))\(end ? "+" : "")"
        case .stop(let line): return "stop @\(line)"
        case .send(let k, let batch):
            let ticks = batch.ticks.map { "\($0.line)@\(time($0.clock))" }
            let persons = batch.persons.map { "\($0.input)=\(String(decoding: $0.note.key, as: UTF8.self))/\(String(decoding: $0.note.phone, as: UTF8.self))" }
            let steps = batch.phoneSteps.map { "\($0.line):\(String(decoding: $0.user, as: UTF8.self))/\(String(decoding: $0.note.phone, as: UTF8.self))" }
            let links = batch.linkSteps.map { "\($0.line):\($0.take ? "take" : "join") \(String(decoding: $0.link.phone, as: UTF8.self))->\(String(decoding: $0.link.user, as: UTF8.self))" }
            return "send \(k): \(batch.lines) ticks \(ticks)" + (persons.isEmpty ? "" : " persons \(persons)") + (steps.isEmpty ? "" : " phones \(steps)")
                + (links.isEmpty ? "" : " links \(links)")
        case .links(let changes):
            return "links " + changes.map { ($0.learned ? "+" : "-") + String(decoding: $0.link.phone, as: UTF8.self) }.joined(separator: ",")
        }
    }

    /// hh:mm:ss of a clock on 2024-05-16.
    static func time(_ clock: Int64) -> String {
        String(Timestamp.format(clock).dropFirst(11).prefix(8))
    }

    /// The shard an inbound line of `identity` goes to.
    static func shard(of identity: String, among shards: Int) -> Int {
        let d = Decoded(Line.inbound(identity: identity))
        return RoutingHash.partition(d.record.contactHash, of: shards)
    }

    /// Two identities that go to different shards of 2.
    static let apart: (String, String) = {
        let first = "46700000000"
        let second = (1...).lazy.map { "4670000000\($0)" }.first { shard(of: $0, among: 2) != shard(of: first, among: 2) }!
        return (first, second)
    }()
}

@Suite struct SequencerTests {
    static func at(_ hms: String, _ identity: String = "46732001122") -> String {
        Line.inbound(identity: identity, time: "2024-05-16T\(hms)Z")
    }

    @Test func oneSegment_isOneRound_eachShardGetsItsRecordsAndEveryTick() {
        var h = SequencerHarness(shards: 2)
        let (a, b) = SequencerHarness.apart
        let sa = SequencerHarness.shard(of: a, among: 2), sb = 1 - sa
        let actions = h.feed([Self.at("09:00:01", a), Self.at("09:00:02", b), Self.at("09:00:03", a), Self.at("09:00:03", b)])
        let ticks = "ticks [\"0@09:00:01\", \"1@09:00:02\", \"2@09:00:03\"]"
        #expect(actions.sorted() == ["send \(sa): [0, 2] \(ticks)", "send \(sb): [1, 3] \(ticks)"].sorted())
        // The next segment is a round of its own, counted from its first line; a shard with
        // no record in it still gets its ticks.
        let next = h.feed([Self.at("09:00:04", b)])
        #expect(next.sorted() == ["send \(sb): [0] ticks [\"0@09:00:04\"]", "send \(sa): [] ticks [\"0@09:00:04\"]"].sorted())
        #expect(h.sequencer.ingest.counters.lines == 5)
    }

    @Test func ticks_onlyWhenTheClockMoves() {
        var h = SequencerHarness()
        let actions = h.feed([Self.at("09:00:02"), Self.at("09:00:01"), Self.at("09:00:02"), "", Self.at("09:00:05")])
        #expect(actions == ["send 0: [0, 1, 2, 4] ticks [\"0@09:00:02\", \"4@09:00:05\"]"])
        // Wall mode: the shards read the wall clock; the sequencer sends no ticks.
        var wall = SequencerHarness(mode: .wall)
        let now = Timestamp.parse("2024-05-16T09:00:10Z")!
        #expect(wall.feed([Self.at("09:00:01"), Self.at("09:00:02")], now: now) == ["send 0: [0, 1] ticks []"])
    }

    @Test func everyShardGetsTheTicks_evenOfRecordsThatChangeNoWindow() {
        var h = SequencerHarness(shards: 3)
        #expect(h.feed([""]) == [])
        let ticks = "ticks [\"1@09:00:01\"]"
        #expect(h.feed(["", Line.inbound(channel: "SMS", time: "2024-05-16T09:00:01Z")]) == [
            "send 0: [] \(ticks)", "send 1: [] \(ticks)", "send 2: [] \(ticks)",
        ])
        #expect(h.sequencer.ingest.counters.lines == 3)
    }

    @Test func metaBodyItems_areStepsOfTheirOwn_butOneLine() {
        var h = SequencerHarness()
        func message(_ id: String, _ ts: Int) -> String {
            #"{"from":"16505551234","id":"\#(id)","timestamp":"\#(ts)","type":"text","text":{"body":"hi"}}"#
        }
        let body = MetaBodies.body(#""messages":["# + message("a", 1_715_850_001) + "," + message("b", 1_715_850_002) + "]")
        let actions = h.feed([body, Self.at("09:00:03")])
        // 1715850001 s is 2024-05-16T09:00:01Z.
        #expect(actions == ["send 0: [0, 1, 2] ticks [\"0@09:00:01\", \"1@09:00:02\", \"2@09:00:03\"]"])
        #expect(h.sequencer.ingest.counters.lines == 2)
        #expect(h.sequencer.ingest.counters.inbound == 3)
    }

    @Test func badItemOfAMetaBody_reportsItsPath_andRejectsTheWholeLineOnce() {
        var h = SequencerHarness()
        let body = MetaBodies.body(#""messages":[{"from":"16505551234","id":"a","timestamp":"1715850001","type":"text"},{"id":"b","timestamp":"1715850002","type":"text"}]"#)
        #expect(h.feed([body]) == ["report missing_contact @1", "reject \(body)+", "send 0: [0] ticks [\"0@09:00:01\"]"])
    }

    @Test func rejectedLines_areReportedAndGoToRejectsWhole() {
        var h = SequencerHarness()
        let bad = "{\"app_id\":"
        let noContact = Line.inbound(identity: nil, contactID: nil)
        #expect(h.feed([bad, Self.at("09:00:01"), noContact]) == [
            "report invalid_json @1", "reject \(bad)+", "report missing_contact @3", "reject \(noContact)+",
            "send 0: [1] ticks [\"1@09:00:01\"]",
        ])
        #expect(h.sequencer.ingest.counters.diagnostics[Diagnostic.invalidJSON.rawValue] == 1)
    }

    @Test func tooLateInWallMode_addsTheNoticeForTheEventClockHint() {
        var h = SequencerHarness(mode: .wall)
        let old = Self.at("09:00:01")
        let now = Timestamp.parse("2024-07-16T09:00:00Z")!
        #expect(h.feed([old], now: now) == ["report too_late @1", "too_late notice", "reject \(old)+"])
    }

    @Test func strictStop_insideASegment_takesNothingAfterTheRejectedLine() {
        var h = SequencerHarness(strict: true)
        let bad = "not json"
        #expect(h.feed([Self.at("09:00:01"), bad, Self.at("09:00:02")]) == [
            "report invalid_json @2", "reject \(bad)+", "stop @2", "send 0: [0] ticks [\"0@09:00:01\"]",
        ])
        #expect(h.sequencer.strictStop == 2)
        #expect(h.sequencer.ingest.counters.lines == 2)
        #expect(h.feed([Self.at("09:00:03")]) == [])
        #expect(h.longLine(["x"]) == [])
    }

    @Test func strictStop_insideAMetaBody_stopsAtItsItem() {
        var h = SequencerHarness(strict: true)
        let body = MetaBodies.body(#""messages":[{"id":"a","timestamp":"1715850001","type":"text"},{"from":"16505551234","id":"b","timestamp":"1715850002","type":"text"}]"#)
        #expect(h.feed([body, Self.at("09:00:03")]) == ["report missing_contact @1", "stop @1", "reject \(body)+"])
        #expect(h.sequencer.ingest.counters.inbound == 0)
    }

    @Test func positions_areEachSourcesLastLineTaken() {
        var h = SequencerHarness(positions: true)
        _ = h.feed(["a\t1\t" + Self.at("09:00:01"), "b\t7\t" + Self.at("09:00:02"), "a\t2\t" + Self.at("09:00:03")], positioned: true)
        #expect(h.sequencer.positions.saved.map { "\($0.source)=\($0.position)" } == ["a=2", "b=7"])
        _ = h.feed(["b\t8\tnot json"], positioned: true)  // rejected lines were read all the same
        #expect(h.sequencer.positions.saved.map { "\($0.source)=\($0.position)" } == ["a=2", "b=8"])
    }

    @Test func positionsAtAStrictStop_endAtTheRejectedLine() {
        var h = SequencerHarness(strict: true, positions: true)
        _ = h.feed(["a\t1\t" + Self.at("09:00:01"), "b\t1\tnot json", "a\t2\t" + Self.at("09:00:02")], positioned: true)
        #expect(h.sequencer.positions.saved.map { "\($0.source)=\($0.position)" } == ["a=1", "b=1"])
    }

    @Test func overLongLine_goesToRejectsInParts_andIsOneLine() {
        var h = SequencerHarness(positions: true)
        #expect(h.longLine(["s\t9\t{\"a\":", "\"b\"}"]) == [
            "reject s\t9\t{\"a\":", "reject \"b\"}", "reject +", "report line_too_long @1",
        ])
        #expect(h.sequencer.positions.saved.map { "\($0.source)=\($0.position)" } == ["s=9"])
        #expect(h.longLine(["\u{FF}"], validUTF8: false).last == "report invalid_utf8 @2")
        #expect(h.sequencer.ingest.counters.lines == 2)
    }

    @Test func fullBatch_endsTheRoundEarly() {
        var h = SequencerHarness()
        let lines = Array(repeating: Self.at("09:00:01"), count: Sequencer.batchRecords + 2)
        let sends = h.feed(lines).map { $0.split(separator: ":", maxSplits: 1)[1].split(separator: "]")[0].split(separator: ",").count }
        #expect(sends == [Sequencer.batchRecords, 2])
    }

    @Test func restore_continuesTheClockWithoutATick_andFinishMovesItToTheNewest() {
        var h = SequencerHarness()
        let t5 = Timestamp.parse("2024-05-16T09:00:05Z")!
        h.sequencer.restore(clock: t5, newest: t5, positions: [])
        #expect(h.feed([Self.at("09:00:01"), Self.at("09:00:07")]) == ["send 0: [0, 1] ticks [\"1@09:00:07\"]"])
        #expect(h.sequencer.finishInput(until: nil) == Timestamp.parse("2024-05-16T09:00:07Z"))
        var empty = SequencerHarness()
        #expect(empty.sequencer.finishInput(until: nil) == nil)
    }
}
