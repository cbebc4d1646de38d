#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable byte buffer written through a raw pointer: the output encoder's scratch,
/// reused across batches (one per shard). A non-copyable struct, so writes need no
/// reference counting or dynamic exclusivity checks.
public struct ByteBuffer: ~Copyable {
    public private(set) var base: UnsafeMutablePointer<UInt8>
    public private(set) var count = 0
    private var capacity: Int
    /// The last two formatted dates: most events of a batch fall on the same few days.
    var dates = DateCache()

    public init(capacity: Int = 1 << 16) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
    public var array: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }
    public var isEmpty: Bool { count == 0 }

    public mutating func removeAll() { count = 0 }

    /// Counts `n` bytes written at `base + count` by the caller (after `reserve`).
    @inline(__always)
    public mutating func commit(_ n: Int) { count += n }


    /// Makes room for `n` more bytes.
    @inline(__always)
    public mutating func reserve(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    private mutating func grow(_ needed: Int) {
        var cap = capacity * 2
        while cap < needed { cap *= 2 }
        let new = UnsafeMutablePointer<UInt8>.allocate(capacity: cap)
        new.update(from: base, count: count)
        base.deallocate()
        base = new
        capacity = cap
    }

    /// Appends one byte; the caller reserved room.
    @inline(__always)
    public mutating func put(_ b: UInt8) {
        base[count] = b
        count += 1
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let p = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        putBytes(p, bytes.count)
    }

    @inline(__always)
    public mutating func append(_ s: StaticString) {
        reserve(s.utf8CodeUnitCount)
        putBytes(s.utf8Start, s.utf8CodeUnitCount)
    }

    /// Copies `n` bytes; the caller reserved room.
    @inline(__always)
    public mutating func putBytes(_ src: UnsafeRawPointer, _ n: Int) {
        var c = cursor
        c.put(src, n)
        commit(c)
    }

    /// The decimal digits of `v` (a minus sign first when negative).
    public mutating func appendDecimal(_ v: Int64) {
        reserve(24)
        var c = cursor
        EventEncoder.putDecimal(v, &c)
        commit(c)
    }

    /// Appends an integer's bytes, little endian.
    @inline(__always)
    mutating func putLittleEndian<T: FixedWidthInteger>(_ v: T) {
        reserve(MemoryLayout<T>.size)
        UnsafeMutableRawPointer(base + count).storeBytes(of: v.littleEndian, as: T.self)
        count += MemoryLayout<T>.size
    }

    /// Where the next byte goes, for writes into room reserved beforehand (`commit` after).
    @inline(__always)
    var cursor: Cursor { Cursor(p: base + count) }

    /// Counts what was written through `c` (a cursor of this buffer, no `reserve` since).
    @inline(__always)
    mutating func commit(_ c: Cursor) { count = c.p - base }
}
