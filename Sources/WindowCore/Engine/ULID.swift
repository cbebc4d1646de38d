/// 26-character ULIDs in Crockford's base32 (upper case only, first character 0-7: exactly
/// 128 bits), packed and spelled out again byte for byte.
enum ULID {
    static let length = 26
    static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
    /// The value of each byte in `alphabet`, 0xFF for any other byte.
    static let values: [UInt8] = {
        var v = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { v[Int(c)] = UInt8(i) }
        return v
    }()

    /// The 128 bits of `bytes` when it is a ULID spelled exactly as `spell` would.
    @inline(__always)
    static func pack(_ bytes: UnsafeRawBufferPointer) -> UInt128? {
        guard bytes.count == length else { return nil }
        return values.withUnsafeBufferPointer { table -> UInt128? in
            var x: UInt128 = 0
            var bad: UInt8 = 0
            for i in 0..<length {
                let v = table[Int(bytes[i])]
                bad |= v
                x = x &<< 5 | UInt128(v & 0x1F)
            }
            // Any byte outside the alphabet has its value's high bits set; the first
            // character carries only three bits.
            return bad & 0xE0 == 0 && table[Int(bytes[0])] < 8 ? x : nil
        }
    }

    /// Writes the 26 characters of `value` at `out`.
    @inline(__always)
    static func spell(_ value: UInt128, into out: UnsafeMutablePointer<UInt8>) {
        alphabet.withUnsafeBufferPointer { a in
            var x = value
            for i in stride(from: length - 1, through: 0, by: -1) {
                out[i] = a[Int(x & 0x1F)]
                x >>= 5
            }
        }
    }
}
