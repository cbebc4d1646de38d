#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An unnamed file a window image is written to: created in the state file's directory
/// (`O_TMPFILE`, or a name removed at once), so nothing is left behind on any exit; closed
/// when the last image holding it goes. A shard keeps its file for the next checkpoint:
/// writing over pages still in the page cache is several times faster than into new ones.
/// Unchecked: its shard alone writes it; an image reads it only after the shard handed the
/// image over (through the snapshot reply), and checkpoints are written one at a time.
public final class SpillFile: @unchecked Sendable {
    public let fd: Int32
    /// Bytes written since the last `rewind`.
    public private(set) var size = 0
    /// Counts rewinds: an image records it, so that one written over is never read back.
    public private(set) var generation = 0

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// A new empty file in `directory`, or nil when none can be made there.
    public static func create(in directory: String) -> SpillFile? {
        let dir = directory.isEmpty ? "." : directory
        #if os(Linux)
        // O_TMPFILE (__O_TMPFILE | O_DIRECTORY; the C macro is not imported).
        var fd = open(dir, O_RDWR | Int32(0o20000000) | O_DIRECTORY | O_CLOEXEC, 0o600)
        #else
        var fd: Int32 = -1
        #endif
        if fd < 0 {
            let path = dir + "/.windowkeeper-image-\(getpid())-\(UInt64.random(in: 0 ... .max))"
            fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return nil }
            unlink(path)
        }
        return SpillFile(fd: fd)
    }

    /// Starts the file over for a new image (its old bytes are written over, not freed).
    public func rewind() {
        size = 0
        generation += 1
    }

    /// Appends `bytes`; false on a write error (a full disk).
    func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard FileIO.writeAll(fd, bytes, at: size) == nil else { return false }
        size += bytes.count
        return true
    }

    /// Reads `count` bytes at `offset` into `into`; false on a read error or a short file.
    func read(at offset: Int, count: Int, into: UnsafeMutableRawPointer) -> Bool {
        var done = 0
        while done < count {
            let n = pread(fd, into + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            if n == 0 { return false }
            done += n
        }
        return true
    }
}
