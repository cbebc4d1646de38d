#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A run of input lines and what decoding them gave, in line order: the unit that decoders
/// work on in parallel and that the sequencer (`Sequencer.segmentDecoded`) takes in order.
///
/// The lines are borrowed: whoever adds them keeps their bytes alive until the segment is
/// emptied. The decoded strings are in `arena`, a new one for every `decode`, so batches cut
/// from one decoding keep reading theirs while the segment decodes its next lines.
public struct DecodedSegment {
    public private(set) var lines: [UnsafeBufferPointer<UInt8>] = []
    /// One per line.
    public private(set) var outcomes: [LineOutcome] = []
    /// One per `.record` line, in order.
    public private(set) var records: [DecodedRecord] = []
    /// The items of the Meta webhook bodies (`.webhook(n)` lines: n each), in line order.
    public private(set) var items: [WebhookItem] = []
    /// With positions: each line's prefix, nil where it has none.
    public private(set) var prefixes: [PositionPrefix?] = []
    /// With positions: the lines that are the last of their source in the segment, in order
    /// (so the sequencer records one position per source).
    public private(set) var lastOfSource: [Int] = []
    public private(set) var decoder = RecordDecoder()
    /// Whether lines start with a `SOURCE<TAB>POSITION<TAB>` prefix (`--positions`).
    public let positioned: Bool

    public init(positioned: Bool, capacity: Int = 0) {
        self.positioned = positioned
        lines.reserveCapacity(capacity)
        outcomes.reserveCapacity(capacity)
    }

    /// Where the strings of `records` and `items` are.
    public var arena: ByteArena { decoder.arena }
    public var lineCount: Int { lines.count }

    public mutating func append(_ line: UnsafeBufferPointer<UInt8>) {
        lines.append(line)
    }

    /// Forgets the lines (buffers are kept; the last decoding's results stay until the next).
    public mutating func removeLines() {
        lines.removeAll(keepingCapacity: true)
    }

    /// Decodes every line into a new arena (the previous one stays with whoever holds it).
    public mutating func decode() {
        // Room for about what the last segment needed, so the arena seldom grows.
        decoder.startArena(capacity: max(1 << 12, decoder.arena.count + decoder.arena.count / 4))
        outcomes.removeAll(keepingCapacity: true)
        records.removeAll(keepingCapacity: true)
        prefixes.removeAll(keepingCapacity: true)
        items.removeAll(keepingCapacity: true)
        for line in lines {
            let outcome: LineOutcome
            if positioned {
                var prefix: PositionPrefix?
                outcome = decoder.decodePositioned(line, prefix: &prefix)
                prefixes.append(prefix)
            } else {
                outcome = decoder.decode(line)
            }
            outcomes.append(outcome)
            switch outcome {
            case .record: records.append(decoder.record)
            case .webhook: items.append(contentsOf: decoder.items)
            default: break
            }
        }
        if positioned { findLastOfSource() }
    }

    /// Visits the lines in order with their outcome, their record (`.record` lines; an empty
    /// one otherwise) and their items (`.webhook` lines; none otherwise), while `body` returns
    /// true.
    @inline(__always)
    public func forEachLine(_ body: (_ index: Int, _ outcome: LineOutcome, _ record: DecodedRecord,
                                     _ items: ArraySlice<WebhookItem>) -> Bool) {
        var nextRecord = 0
        var nextItem = 0
        for i in 0..<lines.count {
            let outcome = outcomes[i]
            var record = DecodedRecord()
            var count = 0
            switch outcome {
            case .record:
                record = records[nextRecord]
                nextRecord += 1
            case .webhook(let n):
                count = n
            default:
                break
            }
            let lineItems = items[nextItem..<(nextItem + count)]
            nextItem += count
            if !body(i, outcome, record, lineItems) { return }
        }
    }

    private mutating func findLastOfSource() {
        lastOfSource.removeAll(keepingCapacity: true)
        var seen: [UnsafeBufferPointer<UInt8>] = []
        var seenIndex: Set<[UInt8]> = []
        for i in lines.indices.reversed() {
            guard let p = prefixes[i] else { continue }
            let source = p.source(lines[i])
            if seen.count < 32 {
                if seen.contains(where: { Self.same($0, source) }) { continue }
                seen.append(source)
            } else if !seen.contains(where: { Self.same($0, source) }) {
                if seenIndex.isEmpty { seenIndex = Set(seen.map { Array($0) }) }
                guard seenIndex.insert(Array(source)).inserted else { continue }
            } else {
                continue
            }
            lastOfSource.append(i)
        }
        lastOfSource.reverse()
    }

    private static func same(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
    }
}
