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
    /// Day numbers and their "YYYY-MM-DDT" (11 bytes in 16) of the last two formatted dates:
    /// most events of a batch fall on the same few days.
    var cachedDay: (Int64, Int64) = (.min, .min)
    var cachedDate: (SIMD16<UInt8>, SIMD16<UInt8>) = (.zero, .zero)

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
        put(s)
    }

    /// Appends a literal; the caller reserved room.
    @inline(__always)
    public mutating func put(_ s: StaticString) {
        putBytes(s.utf8Start, s.utf8CodeUnitCount)
    }

    /// Copies `n` bytes; the caller reserved room. Short copies (the feed's keys and values)
    /// are done with word moves that stay inside both ranges, not a library call.
    @inline(__always)
    public mutating func putBytes(_ src: UnsafeRawPointer, _ n: Int) {
        let dst = UnsafeMutableRawPointer(base + count)
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
        count &+= n
    }

    /// Stores a word at the end without counting it (the caller reserved room), then counts
    /// `n` of its bytes: for assembling short runs of digits.
    @inline(__always)
    mutating func putWord(_ w: UInt64, counting n: Int) {
        UnsafeMutableRawPointer(base + count).storeBytes(of: w.littleEndian, as: UInt64.self)
        count &+= n
    }

    /// The decimal digits of `v` (a minus sign first when negative).
    public mutating func appendDecimal(_ v: Int64) {
        reserve(20)
        if v < 0 { put(0x2D) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // up to 24 bytes of scratch, right-aligned
        var n = v.magnitude
        var len = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[23 - len] = UInt8(truncatingIfNeeded: n % 10) &+ 0x30
                n /= 10
                len += 1
            } while n > 0
            append(UnsafeRawBufferPointer(rebasing: d[(24 - len)...]))
        }
    }

    /// Appends an integer's bytes, little endian.
    @inline(__always)
    mutating func putLittleEndian<T: FixedWidthInteger>(_ v: T) {
        reserve(MemoryLayout<T>.size)
        UnsafeMutableRawPointer(base + count).storeBytes(of: v.littleEndian, as: T.self)
        count += MemoryLayout<T>.size
    }

    /// The 11 date bytes at `offset`, for the date cache.
    func dateBytes(at offset: Int) -> SIMD16<UInt8> {
        var v = SIMD16<UInt8>.zero
        withUnsafeMutableBytes(of: &v) { $0.baseAddress!.copyMemory(from: base + offset, byteCount: 11) }
        return v
    }

    /// Writes 11 cached date bytes (16 are stored; the caller reserved 16).
    @inline(__always)
    mutating func putDate(_ v: SIMD16<UInt8>) {
        UnsafeMutableRawPointer(base + count).storeBytes(of: v, as: SIMD16<UInt8>.self)
        count += 11
    }

    /// Two decimal digits of `v` (0...99); the caller reserved room.
    @inline(__always)
    mutating func putTwoDigits(_ v: Int64) {
        let q = v / 10
        base[count] = UInt8(truncatingIfNeeded: q) &+ 0x30
        base[count + 1] = UInt8(truncatingIfNeeded: v - q * 10) &+ 0x30
        count += 2
    }
}
