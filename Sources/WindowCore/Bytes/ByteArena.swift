/// The decoder's growable byte store: unescaped field values of a whole segment of lines,
/// written through a raw pointer (no uniqueness check or bounds check per append).
///
/// A class around a `ByteBuffer`, so a decoder (a copyable struct) can hand out ranges into
/// it while it keeps appending; each decoder owns its own arena and never shares it across
/// threads while writing. Once a segment is decoded, its arena is only read: the shard
/// batches cut from the segment share it (`ShardBatch.arena`), and the decoder moves on to a
/// new one (`RecordDecoder.startArena`). That hand-over is why it is `Sendable`.
public final class ByteArena: @unchecked Sendable {
    private var buffer: ByteBuffer

    public init(capacity: Int = 1 << 12) {
        buffer = ByteBuffer(capacity: capacity)
    }

    public var base: UnsafeMutablePointer<UInt8> { buffer.base }
    public var count: Int { buffer.count }

    public func removeAll() { buffer.removeAll() }

    /// Makes room for `n` more bytes.
    @inline(__always)
    public func reserve(_ n: Int) { buffer.reserve(n) }

    /// The next free byte; the caller reserved room and then calls `commit`.
    @inline(__always) public var end: UnsafeMutablePointer<UInt8> { buffer.base + buffer.count }

    @inline(__always) public func commit(_ n: Int) { buffer.commit(n) }

    public func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        buffer.append(UnsafeRawBufferPointer(bytes))
    }

    public subscript(i: Int) -> UInt8 {
        get { buffer.base[i] }
        set { buffer.base[i] = newValue }
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: buffer.base, count: buffer.count))
    }

    public var array: [UInt8] { buffer.array }
}
