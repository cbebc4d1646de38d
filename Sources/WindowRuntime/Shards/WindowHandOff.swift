import Synchronization
import WindowCore

/// The windows of a phone on their way from the shard that held them to the shard of the
/// user id it was linked to (SPEC section 12). The phone's shard puts them in when its inbox
/// reaches the link; the user id's inbox waits for them (suspending its task, never a thread)
/// before it hands the shard anything sent after the link. Every wait is for a link of an
/// earlier or the same line, which the other inbox reaches without waiting on this one, so
/// no cycle of waits can form.
public final class WindowHandOff: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<[SavedWindow], Never>)
        case filled([SavedWindow])
    }

    private let state = Mutex(State.empty)

    func put(_ windows: [SavedWindow]) {
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

    func windows() async -> [SavedWindow] {
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
