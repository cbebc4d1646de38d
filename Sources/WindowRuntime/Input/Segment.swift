#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import WindowCore

/// A run of complete input lines, decoded off the reader thread.
///
/// The reader adds lines, a worker decodes them all (`decode`), and the reader's sequencer
/// takes the results back in input order. Decoding needs no clock, so segments decode in
/// parallel; everything order-dependent happens in the sequencer. Lines that live in stable
/// memory (a mapped input file) are referenced, others are copied into the segment.
final class Segment: @unchecked Sendable {
    private var lines: [UnsafeBufferPointer<UInt8>] = []
    private let storage: UnsafeMutableRawBufferPointer
    private var used = 0
    private(set) var outcomes: [LineOutcome] = []
    private(set) var records: [DecodedRecord] = []
    /// With `--positions`: each line's prefix, nil where it has none.
    private(set) var prefixes: [PositionPrefix?] = []
    /// With `--positions`: the lines that are the last of their source in this segment, in
    /// order (found by the worker, so the sequencer records one position per source).
    private(set) var lastOfSource: [Int] = []
    /// The items of the segment's Meta webhook bodies, in line order.
    private(set) var items: [WebhookItem] = []
    private(set) var decoder = RecordDecoder()
    private let positioned: Bool
    private let done = DispatchSemaphore(value: 0)

    static let maxLines = 2_048
    static let copyCapacity = 1 << 20

    init(positioned: Bool) {
        self.positioned = positioned
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.copyCapacity, alignment: 16)
        lines.reserveCapacity(Self.maxLines)
        outcomes.reserveCapacity(Self.maxLines)
    }

    deinit { storage.deallocate() }

    var lineCount: Int { lines.count }
    var isFull: Bool { lines.count >= Self.maxLines }

    /// Whether `line` can be added (copies must fit the segment's buffer).
    func canTake(_ line: UnsafeBufferPointer<UInt8>, stable: Bool) -> Bool {
        stable || used + line.count <= storage.count || lines.isEmpty
    }

    /// Adds a line; `stable` lines are referenced, not copied.
    func add(_ line: UnsafeBufferPointer<UInt8>, stable: Bool) {
        if stable || line.isEmpty {
            lines.append(line)
            return
        }
        guard used + line.count <= storage.count else {
            // A single line larger than the copy buffer (a large --max-line-bytes): own it.
            let own = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: line.count)
            _ = own.initialize(from: line)
            oversized.append(own)
            lines.append(UnsafeBufferPointer(own))
            return
        }
        let dest = storage.baseAddress! + used
        dest.copyMemory(from: line.baseAddress!, byteCount: line.count)
        lines.append(UnsafeBufferPointer(start: dest.assumingMemoryBound(to: UInt8.self), count: line.count))
        used += line.count
    }

    private var oversized: [UnsafeMutableBufferPointer<UInt8>] = []

    func line(_ i: Int) -> UnsafeBufferPointer<UInt8> { lines[i] }

    /// Decodes every line into a new arena (the previous one stays with the shard batches cut
    /// from it); then signals whoever waits in `wait()`.
    func decode() {
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
        done.signal()
    }

    private func findLastOfSource() {
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
        a.count == b.count && memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
    }

    func wait() { done.wait() }

    /// Makes the segment ready for new lines (buffers are kept).
    func reset() {
        lines.removeAll(keepingCapacity: true)
        used = 0
        for o in oversized { o.deallocate() }
        oversized.removeAll()
    }
}
