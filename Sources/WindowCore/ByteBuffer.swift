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

/// A write position in room reserved in a `ByteBuffer`: a pointer in a local, so that a run of
/// small writes (an event line) keeps it in a register instead of updating the buffer's
/// count in memory after every store.
struct Cursor {
    var p: UnsafeMutablePointer<UInt8>

    @inline(__always)
    mutating func put(_ b: UInt8) {
        p.pointee = b
        p += 1
    }

    @inline(__always)
    mutating func put(_ s: StaticString) { put(s.utf8Start, s.utf8CodeUnitCount) }

    /// Copies `n` bytes with word moves that stay inside both ranges (memcpy above 64).
    @inline(__always)
    mutating func put(_ src: UnsafeRawPointer, _ n: Int) {
        let dst = UnsafeMutableRawPointer(p)
        if n >= 8 {
            if n > 64 {
                memcpy(dst, src, n)
            } else {
                var i = 0
                while i &+ 8 < n {
                    dst.storeBytes(of: src.loadUnaligned(fromByteOffset: i, as: UInt64.self), toByteOffset: i, as: UInt64.self)
                    i &+= 8
                }
                dst.storeBytes(of: src.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self), toByteOffset: n &- 8, as: UInt64.self)
            }
        } else if n >= 4 {
            let head = src.loadUnaligned(as: UInt32.self), tail = src.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
            dst.storeBytes(of: head, as: UInt32.self)
            dst.storeBytes(of: tail, toByteOffset: n &- 4, as: UInt32.self)
        } else {
            for i in 0..<n { dst.storeBytes(of: src.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self) }
        }
        p += n
    }

    /// Stores a whole word and counts `n` of its bytes (for short runs of digits).
    @inline(__always)
    mutating func putWord(_ w: UInt64, counting n: Int) {
        UnsafeMutableRawPointer(p).storeBytes(of: w.littleEndian, as: UInt64.self)
        p += n
    }

    /// Stores 16 bytes and counts 11 (a cached date).
    @inline(__always)
    mutating func putDate(_ v: SIMD16<UInt8>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<UInt8>.self)
        p += 11
    }

    /// Two decimal digits of `v` (0...99).
    @inline(__always)
    mutating func putTwoDigits(_ v: Int64) {
        UnsafeMutableRawPointer(p).storeBytes(of: Timestamp.digitPair(UInt32(truncatingIfNeeded: v)), as: UInt16.self)
        p += 2
    }
}

/// Day numbers and their "YYYY-MM-DDT" (11 bytes in 16) of the last two formatted dates.
struct DateCache {
    var day: (Int64, Int64) = (.min, .min)
    var date: (SIMD16<UInt8>, SIMD16<UInt8>) = (.zero, .zero)
}
