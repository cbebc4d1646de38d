#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-buffer writes to a file descriptor, the one loop every writer of the project uses.
public enum FileIO {
    /// Writes all of `bytes` (at `offset` with `pwrite`, else at the file position), retrying
    /// short writes and `EINTR`. Returns nil when everything was written, else the errno of
    /// the failed call (the bytes before it were written).
    @discardableResult
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int? = nil) -> Int32? {
        guard var p = bytes.baseAddress else { return nil }
        var left = bytes.count
        var done = 0
        while left > 0 {
            let n = offset.map { pwrite(fd, p, left, off_t($0 + done)) } ?? write(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            p += n
            left -= n
            done += n
        }
        return nil
    }
}
