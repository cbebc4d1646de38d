/// FNV-1a, 64 bit: a stable byte-wise hash (never `hashValue`, which changes per process),
/// for app ids and the simulator.
public struct FNV1a: Sendable {
    public var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    @inlinable
    public mutating func add(_ bytes: UnsafeBufferPointer<UInt8>) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        value = h
    }

    @inlinable
    public mutating func addByte(_ byte: UInt8) { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }

    public mutating func add(_ v: Int64) {
        var x = UInt64(bitPattern: v)
        for _ in 0..<8 { addByte(UInt8(truncatingIfNeeded: x)); x >>= 8 }
    }

    /// Final avalanche (splitmix64), so that similar inputs give unrelated ids.
    public var mixed: UInt64 { SplitMix64.mix(value) }
}
