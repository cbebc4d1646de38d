import Synchronization

/// The windows of a phone on their way from the shard that held them to the shard of the
/// user id it was linked to (SPEC section 12). The phone's shard puts them in when its batch
/// reaches the link's line; the user id's shard takes them at the same line of its batch,
/// and when they are not there yet its inbox waits for them (suspending its task, never a
/// thread) before the shard goes on. Every wait is for a link of an earlier or the same
/// line, which the other shard reaches without waiting on this one (a shard's steps are in
/// line order, and a phone's take comes before a join at its line), so no cycle of waits
/// can form.
public final class WindowHandOff: Sendable {
    public init() {}

    private enum State {
        case empty
        case waiting(CheckedContinuation<[SavedWindow], Never>)
        case filled([SavedWindow])
    }

    private let state = Mutex(State.empty)

    public func put(_ windows: [SavedWindow]) {
        let waiter: CheckedContinuation<[SavedWindow], Never>? = state.withLock { s in
            switch s {
            case .empty:
                s = .filled(windows)
                return nil
            case .waiting(let c):
                s = .filled([])
                return c
            case .filled:
                preconditionFailure("windows handed over twice")
            }
        }
        waiter?.resume(returning: windows)
    }

    /// The windows if they are there already (they can be taken once).
    public func ready() -> [SavedWindow]? {
        state.withLock { s in
            guard case .filled(let w) = s else { return nil }
            s = .filled([])
            return w
        }
    }

    public func windows() async -> [SavedWindow] {
        await withCheckedContinuation { c in
            let ready: [SavedWindow]? = state.withLock { s in
                switch s {
                case .empty:
                    s = .waiting(c)
                    return nil
                case .filled(let w):
                    return w
                case .waiting:
                    preconditionFailure("two waiters for one hand-off")
                }
            }
            if let ready { c.resume(returning: ready) }
        }
    }
}
