#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the framer hands on for each piece of input.
public enum FramedPiece {
    /// A complete line of at most `maxLineBytes` bytes, without its `\n`.
    case line(UnsafeBufferPointer<UInt8>)
    /// Bytes of a line longer than `maxLineBytes`, in order; never held whole in memory.
    case longPart(UnsafeBufferPointer<UInt8>)
    /// The end of an over-long line; `validUTF8` tells whether all its bytes were valid UTF-8.
    case longEnd(validUTF8: Bool)
}

/// Splits a byte stream into `\n`-terminated lines, across arbitrary chunk boundaries.
///
/// Lines inside one chunk are handed on without copying; a line split across chunks is
/// carried over. A line longer than `maxLineBytes` (bytes before the `\n`) is passed on in
/// parts as it arrives and never buffered whole. The last line may lack its `\n`. A UTF-8
/// byte-order mark at the very start of the stream (and only there) is dropped.
public struct LineFramer {
    public let maxLineBytes: Int
    private var carry: [UInt8] = []
    /// Bytes of a byte-order mark matched so far at the start of the stream; nil once the
    /// start is behind (the mark was dropped, or the stream began otherwise).
    private var markMatched: Int? = 0
    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
    private var inLongLine = false
    private var longValidator = UTF8Validator()

    public init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    /// Feeds one chunk; `sink` sees the complete lines and long-line parts it contains.
    public mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, _ sink: (FramedPiece) -> Void) {
        var start = 0
        let n = chunk.count
        if markMatched != nil { start = skipByteOrderMark(chunk) }
        while start < n {
            let nl = Self.indexOfNewline(chunk, from: start)
            let end = nl ?? n
            let piece = UnsafeBufferPointer(rebasing: chunk[start..<end])
            if inLongLine {
                longValidator.feed(piece)
                if !piece.isEmpty { sink(.longPart(piece)) }
                if nl != nil { endLongLine(sink) }
            } else if carry.count + piece.count > maxLineBytes {
                inLongLine = true
                longValidator = UTF8Validator()
                if !carry.isEmpty {
                    carry.withUnsafeBufferPointer { c in
                        longValidator.feed(c)
                        sink(.longPart(c))
                    }
                    carry.removeAll(keepingCapacity: false)
                }
                longValidator.feed(piece)
                sink(.longPart(piece))
                if nl != nil { endLongLine(sink) }
            } else if nl == nil {
                carry.append(contentsOf: piece)
            } else if carry.isEmpty {
                sink(.line(piece))
            } else {
                carry.append(contentsOf: piece)
                carry.withUnsafeBufferPointer { sink(.line($0)) }
                carry.removeAll(keepingCapacity: carry.count <= 1 << 16)
            }
            start = end + 1
        }
    }

    /// Matches the start of the stream against the byte-order mark, across chunks; returns
    /// where the chunk's content starts. A partial match that fails is content after all.
    private mutating func skipByteOrderMark(_ chunk: UnsafeBufferPointer<UInt8>) -> Int {
        guard var matched = markMatched else { return 0 }
        var i = 0
        while i < chunk.count, matched < 3 {
            guard chunk[i] == Self.byteOrderMark[matched] else {
                carry.append(contentsOf: Self.byteOrderMark[0..<matched])
                markMatched = nil
                return i
            }
            matched += 1
            i += 1
        }
        markMatched = matched == 3 ? nil : matched
        return i
    }

    /// Ends the stream: a last line without `\n` is handed on.
    public mutating func finish(_ sink: (FramedPiece) -> Void) {
        if let matched = markMatched, matched > 0 { carry.append(contentsOf: Self.byteOrderMark[0..<matched]) }
        markMatched = nil
        if inLongLine {
            endLongLine(sink)
        } else if !carry.isEmpty {
            carry.withUnsafeBufferPointer { sink(.line($0)) }
            carry.removeAll()
        }
    }

    private mutating func endLongLine(_ sink: (FramedPiece) -> Void) {
        inLongLine = false
        sink(.longEnd(validUTF8: longValidator.finish()))
    }

    @inlinable
    static func indexOfNewline(_ chunk: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        guard from < chunk.count, let base = chunk.baseAddress else { return nil }
        guard let p = memchr(base + from, 0x0A, chunk.count - from) else { return nil }
        return UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self) - base
    }
}
