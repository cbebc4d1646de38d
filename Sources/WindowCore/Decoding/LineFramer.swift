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
/// parts as it arrives and never buffered whole. The last line may lack its `\n`.
public struct LineFramer {
    public let maxLineBytes: Int
    private var carry: [UInt8] = []
    private var inLongLine = false
    private var longValidator = UTF8Validator()

    public init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    /// Feeds one chunk; `sink` sees the complete lines and long-line parts it contains.
    public mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, _ sink: (FramedPiece) -> Void) {
        var start = 0
        let n = chunk.count
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

    /// Ends the stream: a last line without `\n` is handed on.
    public mutating func finish(_ sink: (FramedPiece) -> Void) {
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
