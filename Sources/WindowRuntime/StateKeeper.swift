#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import WindowCore

/// Loads and writes the `--state` file: atomically (temporary file in the same directory,
/// fsync, rename, fsync of the directory), so a crash leaves the old or the new file, whole.
public struct StateKeeper: Sendable {
    public let path: String
    public let semantics: StateFile.Semantics

    public init(path: String, semantics: StateFile.Semantics) {
        self.path = path
        self.semantics = semantics
    }

    public enum LoadFailure: Error, CustomStringConvertible {
        case unusable(String)
        case io(String)
        public var description: String {
            switch self {
            case .unusable(let m), .io(let m): m
            }
        }
    }

    /// The saved state, nil when the file does not exist yet.
    public func load() throws(LoadFailure) -> StateFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw .io("cannot read --state \(path)") }
        let file: StateFile
        do {
            file = try StateFile.decode([UInt8](data))
        } catch {
            throw .unusable("--state \(path): \(error.description); refusing to use or overwrite it")
        }
        if let why = StateFile.incompatibility(saved: file.semantics, current: semantics) {
            throw .unusable("--state \(path): \(why); refusing to use or overwrite it")
        }
        return file
    }

    /// Writes `file` atomically; returns an error message on failure.
    public func write(_ file: StateFile) -> String? {
        let bytes = file.encoded()
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return "cannot write \(tmp): \(String(cString: strerror(errno)))" }
        let ok = bytes.withUnsafeBytes { raw -> Bool in
            var p = raw.baseAddress!, left = raw.count
            while left > 0 {
                let n = Glibc.write(fd, p, left)
                if n < 0 { if errno == EINTR { continue }; return false }
                p += n; left -= n
            }
            return true
        }
        let synced = ok && fsync(fd) == 0
        close(fd)
        guard synced, rename(tmp, path) == 0 else {
            let message = "cannot write --state \(path): \(String(cString: strerror(errno)))"
            unlink(tmp)
            return message
        }
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
        return nil
    }
}
