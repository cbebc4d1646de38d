#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The operating system's clocks, read in one place for the runtime, the simulator and the
/// harness (the core itself never reads a clock: time is passed in).
public enum SystemClock {
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

    /// Monotonic time in seconds.
    public static func monotonicSeconds() -> Double { Double(monotonicNanos()) / 1e9 }
}
