import Synchronization

/// How the checkpoints of a run went: written, failed, whether the newest one failed, and
/// when the newest one succeeded. A failed periodic checkpoint does not stop the run (the
/// next one tries again), but it is said on standard error, counted, and `/readyz` answers
/// 503 from the first failure until a checkpoint succeeds again.
public final class CheckpointHealth: Sendable {
    public struct Reading: Sendable, Equatable {
        public var written = 0
        public var failed = 0
        /// The newest checkpoint failed (none succeeded since).
        public var failing = false
        /// Wall time the newest successful checkpoint was written, ms (nil before the first).
        public var lastSuccess: Int64?
    }

    private let state = Mutex(Reading())

    public init() {}

    public var reading: Reading { state.withLock { $0 } }

    /// Records a checkpoint's outcome (`error` nil for success) at wall time `now`; returns
    /// the reading after it.
    @discardableResult
    public func record(_ error: String?, now: Int64) -> Reading {
        state.withLock { r in
            if error == nil {
                r.written += 1
                r.failing = false
                r.lastSuccess = now
            } else {
                r.failed += 1
                r.failing = true
            }
            return r
        }
    }
}
