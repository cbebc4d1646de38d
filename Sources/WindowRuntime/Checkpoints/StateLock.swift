#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The `--state` file, claimed for one run: its directory checked at start (it must exist
/// and be writable, or every checkpoint would fail), and an exclusive `flock` on `FILE.lock`
/// beside it, held until the process ends, so that a second process on the same file (a
/// rolling deploy, a unit started twice) stops at start instead of overwriting the first
/// one's checkpoints. The lock file holds the holder's pid; it is left in place (removing
/// it could let two processes lock two different files).
public struct StateLock: Sendable {
    public let path: String
    let fd: Int32

    /// Why the state cannot be used; every case exits with status 2.
    public struct Refusal: Error, CustomStringConvertible {
        public var description: String
    }

    public static func lockPath(for state: String) -> String { state + ".lock" }

    /// Checks `state`'s directory and takes the lock.
    public static func claim(_ state: String) throws(Refusal) -> StateLock {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: state, isDirectory: &isDirectory), isDirectory.boolValue {
            throw Refusal(description: "--state \(state) is a directory; give a file in it, e.g. --state \(state.hasSuffix("/") ? state : state + "/")windowkeeper.state")
        }
        let dir = StateKeeper(path: state, semantics: .init(engine: .init(), mode: .event, lateness: 0)).directory
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory) else {
            throw Refusal(description: "--state \(state): directory \(dir) does not exist; create it (mkdir -p \(dir)) or give another path")
        }
        guard isDirectory.boolValue else { throw Refusal(description: "--state \(state): \(dir) is not a directory") }
        guard access(dir, W_OK | X_OK) == 0 else {
            throw Refusal(description: "--state \(state): directory \(dir) is not writable by this user (uid \(getuid())); checkpoints could never be written there")
        }
        let path = lockPath(for: state)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Refusal(description: "--state \(state): cannot open its lock file \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let why = errno
            var bytes = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &bytes, bytes.count, 0)
            close(fd)
            guard why == EWOULDBLOCK else {
                throw Refusal(description: "--state \(state): cannot lock \(path): \(String(cString: strerror(why)))")
            }
            let pid = n > 0 ? String(decoding: bytes[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "unknown"
            throw Refusal(description: "--state \(state) is in use by another windowkeeper (pid \(pid), lock \(path)); stop it first, or give each instance a state file of its own")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return StateLock(path: path, fd: fd)
    }

    /// Releases the lock (at the end of a run; the process ending releases it too).
    public func release() { close(fd) }
}
