import Dispatch
import WindowCore

/// A run of complete input lines, decoded off the reader thread.
///
/// The reader adds lines, a worker decodes them all (`decode`), and the reader's sequencer
/// takes the results (`decoded`) back in input order. Decoding needs no clock, so segments
/// decode in parallel; everything order-dependent happens in the sequencer. Lines that live in
/// stable memory (a mapped input file) are referenced, others are copied into the segment.
/// Unchecked: one thread at a time owns it: the reader fills it, then one worker decodes it,
/// then the reader reads it; each hand-over goes through the pool's semaphore, which orders it.
final class Segment: @unchecked Sendable {
    /// The lines and what decoding them gave. Written by the reader thread (`add`, `reset`)
    /// and by one worker (`decode`), never at once: the worker starts after the last `add`,
    /// and `wait` orders its writes before the reader's next read.
    private(set) var decoded: DecodedSegment
    private let storage: UnsafeMutableRawBufferPointer
    private var used = 0
    private let done = DispatchSemaphore(value: 0)

    static let maxLines = 2_048
    static let copyCapacity = 1 << 20

    init(positioned: Bool) {
        decoded = DecodedSegment(positioned: positioned, capacity: Self.maxLines)
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.copyCapacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    var lineCount: Int { decoded.lineCount }
    /// The first line added as `stable` (inside the mapped input), nil when none: the lowest
    /// address of the mapping this segment refers to until `reset`.
    private(set) var firstStable: UnsafeRawPointer?
    var isFull: Bool { decoded.lineCount >= Self.maxLines }

    /// Whether `line` can be added (copies must fit the segment's buffer).
    func canTake(_ line: UnsafeBufferPointer<UInt8>, stable: Bool) -> Bool {
        stable || used + line.count <= storage.count || decoded.lineCount == 0
    }

    /// Adds a line; `stable` lines are referenced, not copied.
    func add(_ line: UnsafeBufferPointer<UInt8>, stable: Bool) {
        if stable || line.isEmpty {
            if stable, firstStable == nil, let b = line.baseAddress { firstStable = UnsafeRawPointer(b) }
            decoded.append(line)
            return
        }
        guard used + line.count <= storage.count else {
            // A single line larger than the copy buffer (a large --max-line-bytes): own it.
            let own = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: line.count)
            _ = own.initialize(from: line)
            oversized.append(own)
            decoded.append(UnsafeBufferPointer(own))
            return
        }
        let dest = storage.baseAddress! + used
        dest.copyMemory(from: line.baseAddress!, byteCount: line.count)
        decoded.append(UnsafeBufferPointer(start: dest.assumingMemoryBound(to: UInt8.self), count: line.count))
        used += line.count
    }

    private var oversized: [UnsafeMutableBufferPointer<UInt8>] = []

    /// Decodes every line (on a worker); then signals whoever waits in `wait()`.
    func decode() {
        decoded.decode()
        done.signal()
    }

    func wait() { done.wait() }

    /// Makes the segment ready for new lines (buffers are kept).
    func reset() {
        decoded.removeLines()
        firstStable = nil
        used = 0
        for o in oversized { o.deallocate() }
        oversized.removeAll()
    }
}
