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

    /// The directory the file is in (where it is written, and where large window images
    /// are written on their way into it).
    public var directory: String {
        let dir = (path as NSString).deletingLastPathComponent
        return dir.isEmpty ? "." : dir
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

    /// The saved state, mapped and checked whole, with its header; nil when the file does
    /// not exist yet.
    public func load() throws(LoadFailure) -> (file: MappedFile, header: StateFile.Header)? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let file: MappedFile
        switch MappedFile.open(path) {
        case .success(let f): file = f
        case .failure(let e): throw .io("cannot read --state \(path): \(e)")
        }
        let header: StateFile.Header
        do {
            header = try StateFile.open(file.bytes)
        } catch {
            throw .unusable("--state \(path): \(error.description); refusing to use or overwrite it")
        }
        if let why = StateFile.incompatibility(saved: header.semantics, current: semantics) {
            throw .unusable("--state \(path): \(why); refusing to use or overwrite it")
        }
        return (file, header)
    }

    /// Writes the shards' windows atomically; returns an error message on failure.
    public func write(_ images: [WindowImage], clock: Int64, newest: Int64,
                      positions: [StateFile.SourcePosition] = [], links: [IdentityLinks.Link] = []) -> String? {
        write(StateFile.encode(semantics: semantics, clock: clock, newest: newest, positions: positions, links: links, images: images))
    }

    /// Writes `file` atomically; returns an error message on failure.
    public func write(_ file: StateFile) -> String? {
        write(StateFile.encode(semantics: file.semantics, clock: file.clock, newest: file.newest,
                               positions: file.positions, links: file.links, images: [WindowImage(file.windows)]))
    }

    /// Writes an encoded file atomically: small pieces (a bucket's records are a few
    /// kilobytes) are gathered into 1 MiB writes, large ones written as they are.
    private func write(_ file: StateFile.Encoded) -> String? {
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return "cannot write \(tmp): \(String(cString: strerror(errno)))" }
        var ok = true
        func writeAll(_ bytes: UnsafeRawBufferPointer) {
            if ok, FileIO.writeAll(fd, bytes) != nil { ok = false }
        }
        let stagingSize = 1 << 20
        var staging = ByteBuffer(capacity: stagingSize)
        guard !file.readFailed else { close(fd); unlink(tmp); return "cannot write --state \(path): a window image could not be read back" }
        let complete = file.forEachPiece { piece in
            if staging.count + piece.count > stagingSize {
                writeAll(staging.bytes)
                staging.removeAll()
            }
            if piece.count >= stagingSize / 4 {
                writeAll(piece)
            } else {
                staging.append(piece)
            }
        }
        writeAll(staging.bytes)
        guard complete else { close(fd); unlink(tmp); return "cannot write --state \(path): a window image could not be read back" }
        let synced = ok && fsync(fd) == 0
        close(fd)
        guard synced, rename(tmp, path) == 0 else {
            let message = "cannot write --state \(path): \(String(cString: strerror(errno)))"
            unlink(tmp)
            return message
        }
        let dfd = open(directory, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
        return nil
    }
}
