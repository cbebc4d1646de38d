import Dispatch
import WindowCore

/// Lines gathered into segments, decoded on worker threads, and handed back in input order:
/// the parallel half of reading (the pipeline's reader and `windowkeeper key` share it).
/// Work in flight is bounded: at most `maxInFlight` segments wait for their turn.
final class DecodePool {
    private var filling: Segment
    private var inFlight: [Segment] = []
    private var spare: [Segment] = []
    private let positioned: Bool
    private let workers = DispatchQueue(label: "windowkeeper.decode", qos: .userInitiated, attributes: .concurrent)
    private let maxInFlight = max(2, System.activeProcessorCount * 2)
    /// Takes each decoded segment, in input order (on the caller's thread).
    private let sequence: (Segment) -> Void

    /// The strings a segment decoded stay in its arena (`Segment.decoder.arena`) for whoever
    /// keeps it after `sequence`: each decode starts a new one.
    init(positioned: Bool, sequence: @escaping (Segment) -> Void) {
        self.positioned = positioned
        self.sequence = sequence
        filling = Segment(positioned: positioned)
    }

    /// The lowest address of a mapped input that lines not yet sequenced refer to (the first
    /// stable line of the oldest segment that has one), nil when none does: the mapping's
    /// pages before it are read no more. Lines are added in input order, so the first found is
    /// the lowest.
    var oldestStableLine: UnsafeRawPointer? {
        for segment in inFlight { if let p = segment.firstStable { return p } }
        return filling.firstStable
    }

    /// Adds a complete line; `stable` lines (inside a mapped input) are referenced, not copied.
    func add(_ line: UnsafeBufferPointer<UInt8>, stable: Bool) {
        if !filling.canTake(line, stable: stable) { submit(drain: false) }
        filling.add(line, stable: stable)
        if filling.isFull { submit(drain: false) }
    }

    /// Hands the filling segment to a worker; sequences finished segments in order, all of
    /// them when `drain`, else only as many as needed to bound the work in flight.
    func submit(drain: Bool) {
        if filling.lineCount > 0 {
            let segment = filling
            inFlight.append(segment)
            workers.async { segment.decode() }
            filling = spare.popLast() ?? Segment(positioned: positioned)
        }
        while let oldest = inFlight.first, drain || inFlight.count > maxInFlight {
            inFlight.removeFirst()
            oldest.wait()
            sequence(oldest)
            oldest.reset()
            spare.append(oldest)
        }
    }
}
