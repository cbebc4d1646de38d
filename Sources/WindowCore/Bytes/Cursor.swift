#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
