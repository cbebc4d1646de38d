#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only (state files): shared by the shards while they restore,
/// unmapped when the last reference goes.
/// Unchecked: the mapping is read-only and immutable once made; `release` only drops pages.
public final class MappedFile: @unchecked Sendable {
    public let bytes: UnsafeBufferPointer<UInt8>

    /// Maps `path`; nil with the reason when it cannot be read. `populate` reads the whole
    /// file in at once (for a full load); without it pages are read as they are touched.
    public static func open(_ path: String, populate: Bool = true) -> Result<MappedFile, MappedFileError> {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(MappedFileError(errno: errno)) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure(MappedFileError(errno: errno)) }
        let size = Int(st.st_size)
        guard size > 0 else { return .success(MappedFile(UnsafeBufferPointer(start: nil, count: 0))) }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), fd, 0), p != MAP_FAILED else {
            return .failure(MappedFileError(errno: errno))
        }
        return .success(MappedFile(UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: size)))
    }

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Drops the resident pages that lie wholly inside `range` (bytes that are read again
    /// are read back from the file): a restore releases each part of the file once it is
    /// read, instead of holding the whole file beside the tables it fills.
    public func release(_ range: Range<Int>) {
        guard let base = bytes.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: base) + range.lowerBound + page - 1) / page * page
        let end = (Int(bitPattern: base) + range.upperBound) / page * page
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_DONTNEED)
    }

    deinit {
        if let p = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: p), bytes.count) }
    }
}

public struct MappedFileError: Error, CustomStringConvertible {
    public var errno: Int32
    public var description: String { String(cString: strerror(errno)) }
}
