import Dispatch
import WindowCore

/// A run of complete input lines, decoded off the reader thread.
///
/// The reader copies lines in, a worker decodes them all (`decode`), and the reader's
/// sequencer takes the results back in input order. Decoding needs no clock, so segments
/// decode in parallel; everything order-dependent happens in the sequencer.
final class Segment: @unchecked Sendable {
    private(set) var data: [UInt8] = []
    private(set) var lineEnds: [Int] = []
    private(set) var outcomes: [LineOutcome] = []
    private(set) var records: [DecodedRecord] = []
    private(set) var decoder = RecordDecoder()
    private let done = DispatchSemaphore(value: 0)

    init() {
        data.reserveCapacity(1 << 20)
        lineEnds.reserveCapacity(Self.maxLines)
    }

    static let maxLines = 2_048
    static let maxBytes = 1 << 20

    var lineCount: Int { lineEnds.count }
    var isFull: Bool { lineEnds.count >= Self.maxLines || data.count >= Self.maxBytes }

    func add(_ line: UnsafeBufferPointer<UInt8>) {
        data.append(contentsOf: line)
        lineEnds.append(data.count)
    }

    func line(_ i: Int) -> UnsafeBufferPointer<UInt8> {
        let start = i == 0 ? 0 : lineEnds[i - 1]
        return data.withUnsafeBufferPointer { UnsafeBufferPointer(rebasing: $0[start..<lineEnds[i]]) }
    }

    /// Decodes every line; then signals whoever waits in `wait()`.
    func decode() {
        decoder.resetArena()
        outcomes.removeAll(keepingCapacity: true)
        records.removeAll(keepingCapacity: true)
        data.withUnsafeBufferPointer { all in
            var start = 0
            for end in lineEnds {
                let outcome = decoder.decode(UnsafeBufferPointer(rebasing: all[start..<end]))
                outcomes.append(outcome)
                if case .record = outcome { records.append(decoder.record) }
                start = end
            }
        }
        done.signal()
    }

    func wait() { done.wait() }

    /// Makes the segment ready for new lines (buffers are kept).
    func reset() {
        data.removeAll(keepingCapacity: true)
        lineEnds.removeAll(keepingCapacity: true)
    }
}
