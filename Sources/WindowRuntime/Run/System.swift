#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import WindowCore

#if canImport(Glibc)
/// glibc's `mallopt` (not exported by the Glibc module).
@_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// Process-level facts and the real-time clock.
public enum System {
    public static var activeProcessorCount: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// Wall-clock time, UTC milliseconds.
    public static func nowMillis() -> Int64 { SystemClock.nowMillis() }

    /// Monotonic time in nanoseconds (durations, rate limits).
    public static func monotonicNanos() -> UInt64 { SystemClock.monotonicNanos() }

    /// The allocator settings of the windowkeeper process (the benchmark harness applies
    /// them too, so that its memory figures are the product's).
    ///
    /// A fixed mapping threshold of 1 MiB: window tables that outgrow their buffer release
    /// the old one to the system at once. glibc's default raises the threshold to 32 MiB
    /// as large blocks are freed, and the freed buffers below it stayed resident: with the
    /// 256 MiB threshold used before, 1 M contacts cost 172 bytes each instead of 128.
    /// Replay throughput was the same with either threshold (measured; docs/performance.md).
    public static func tuneAllocator() {
        #if canImport(Glibc)
        _ = mallopt(-3 /* M_MMAP_THRESHOLD */, 1 << 20)
        _ = mallopt(-1 /* M_TRIM_THRESHOLD */, 16 << 20)
        #endif
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
