#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Process-level facts and the real-time clock.
public enum System {
    public static var activeProcessorCount: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// Wall-clock time, UTC milliseconds.
    public static func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Monotonic time in nanoseconds (durations, rate limits).
    public static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// The time source of live mode, injectable so tests drive time by hand.
public protocol WallClock: Sendable {
    /// Now, UTC milliseconds.
    func now() -> Int64
    /// Returns once `now() >= deadline`, or early on cancellation.
    func wait(until deadline: Int64) async
}

public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Int64 { System.nowMillis() }
    public func wait(until deadline: Int64) async {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let nowNanos = Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
        let wait = deadline * 1_000_000 - nowNanos
        guard wait > 0 else { return }
        try? await Task.sleep(for: .nanoseconds(wait), tolerance: .zero)
    }
}
