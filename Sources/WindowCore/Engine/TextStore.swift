/// Where a string of the window table lives in its `TextStore`: the offset of its length
/// prefix. Four bytes, so that a window or contact pays half of an offset-and-count pair.
struct TextRef: Equatable {
    var offset: UInt32

    /// The zero-length string every store begins with.
    static let empty = TextRef(offset: 0)
    var isEmpty: Bool { offset == 0 }
}

/// The strings of one engine's contacts and windows (app ids, contacts, contact ids,
/// categories, conversation ids) as UTF-8 bytes in one buffer: no object, reference count or
/// allocation per string, and events are encoded by copying bytes straight out of it.
///
/// Each string is stored behind its length: one byte below 127 (every identifier Sinch sends),
/// else a LEB128 varint whose first byte is 0x80 or more. So a reference is just the offset.
/// A store made with `packsULIDs` keeps a 26-character ULID (Crockford base32, upper case, as
/// Sinch's contact ids are) as the marker byte 0x7F and its 128 bits: 17 bytes instead of 27.
///
/// Freed strings become garbage; `compact` copies the live ones into a fresh buffer once the
/// garbage outweighs them (the engine rewrites its references then).
struct TextStore: ~Copyable {
    private var buffer: ByteBuffer
    /// Bytes of freed strings (with their prefixes) still in the buffer.
    private(set) var garbage = 0
    /// Whether a string that must be escaped in JSON was ever stored (until `compact`): while
    /// not, events copy this store's strings without checking them.
    private(set) var holdsEscapes = false
    let packsULIDs: Bool
    /// Where `bytes` spells out a packed ULID.
    private let spelled: UnsafeMutablePointer<UInt8>

    init(capacity: Int = 1 << 12, packsULIDs: Bool = false) {
        buffer = ByteBuffer(capacity: capacity)
        buffer.reserve(1)
        buffer.put(0)  // `TextRef.empty`: a zero length at offset 0
        self.packsULIDs = packsULIDs
        spelled = .allocate(capacity: ULID.length)
    }

    deinit { spelled.deallocate() }

    var liveBytes: Int { buffer.count - garbage }

    /// The prefix byte of a packed ULID.
    private static let packed: UInt8 = 0x7F

    /// Stores a copy of `bytes`.
    mutating func add(_ bytes: UnsafeRawBufferPointer) -> TextRef {
        guard bytes.count > 0 else { return .empty }
        precondition(buffer.count + bytes.count + 6 <= Int(UInt32.max), "a shard's strings exceed 4 GiB; use more --shards")
        let offset = buffer.count
        buffer.reserve(bytes.count + 6)
        if packsULIDs, let value = ULID.pack(bytes) {
            buffer.put(Self.packed)
            withUnsafeBytes(of: value.littleEndian) { buffer.putBytes($0.baseAddress!, 16) }
            return TextRef(offset: UInt32(offset))
        }
        if !holdsEscapes, EventEncoder.needsEscape(bytes.baseAddress!, bytes.count) { holdsEscapes = true }
        var n = bytes.count
        if n < 0x7F {
            buffer.put(UInt8(n))
        } else {
            // LEB128 with the first byte always marked as continued (127 included).
            buffer.put(UInt8(truncatingIfNeeded: n) | 0x80)
            n >>= 7
            while n >= 0x80 {
                buffer.put(UInt8(truncatingIfNeeded: n) | 0x80)
                n >>= 7
            }
            buffer.put(UInt8(n))
        }
        buffer.putBytes(bytes.baseAddress!, bytes.count)
        return TextRef(offset: UInt32(offset))
    }

    mutating func add(_ bytes: UnsafeBufferPointer<UInt8>) -> TextRef { add(UnsafeRawBufferPointer(bytes)) }

    /// Marks a string as no longer referenced.
    mutating func free(_ r: TextRef) {
        guard !r.isEmpty else { return }
        if buffer.base[Int(r.offset)] == Self.packed {
            garbage += 17
            return
        }
        let (start, count) = locate(r)
        garbage += start - Int(r.offset) + count
    }

    /// Where the bytes of plain string `r` start in the buffer, and how many there are.
    @inline(__always)
    private func locate(_ r: TextRef) -> (start: Int, count: Int) {
        var p = Int(r.offset)
        let first = buffer.base[p]
        p += 1
        if first < 0x80 { return (p, Int(first)) }
        var count = Int(first & 0x7F), shift = 7
        while true {
            let b = buffer.base[p]
            p += 1
            count |= Int(b & 0x7F) << shift
            if b < 0x80 { return (p, count) }
            shift += 7
        }
    }

    @inline(__always)
    private func packedValue(_ r: TextRef) -> UInt128? {
        guard buffer.base[Int(r.offset)] == Self.packed else { return nil }
        return UInt128(littleEndian: UnsafeRawPointer(buffer.base + Int(r.offset) + 1).loadUnaligned(as: UInt128.self))
    }

    /// The bytes of `r`; valid until the next `add`, `compact` or (for a packed ULID, spelled
    /// out in one buffer of the store) `bytes` of another packed ULID.
    @inline(__always)
    func bytes(_ r: TextRef) -> UnsafeRawBufferPointer {
        if packsULIDs, let value = packedValue(r) {
            ULID.spell(value, into: spelled)
            return UnsafeRawBufferPointer(start: spelled, count: ULID.length)
        }
        let (start, count) = locate(r)
        return UnsafeRawBufferPointer(start: buffer.base + start, count: count)
    }

    func string(_ r: TextRef) -> String {
        String(decoding: bytes(r), as: UTF8.self)
    }

    /// Byte equality, compared eight bytes at a time inline (keys are short: no libc call).
    @inline(__always)
    func equals(_ r: TextRef, _ other: UnsafeBufferPointer<UInt8>) -> Bool {
        if packsULIDs, let value = packedValue(r) { return ULID.pack(UnsafeRawBufferPointer(other)) == value }
        let n = other.count
        let (start, count) = locate(r)
        guard count == n else { return false }
        guard n > 0 else { return true }
        let a = UnsafeRawPointer(buffer.base + start), b = UnsafeRawPointer(other.baseAddress!)
        var i = 0
        while i + 8 <= n {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i += 8
        }
        while i < n {
            if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }

    /// Garbage below this is never worth a compaction (tests lower it).
    var compactionFloor = 1 << 20

    /// Worth compacting: garbage is over the floor and more than the live bytes.
    var wantsCompaction: Bool { garbage > compactionFloor && garbage > liveBytes }

    /// Moves the live strings into a fresh buffer: `visit` is called with a function that
    /// re-stores one reference; every live reference must be passed through it.
    mutating func compact(_ visit: ((TextRef) -> TextRef) -> Void) {
        var fresh = TextStore(capacity: liveBytes, packsULIDs: packsULIDs)
        fresh.compactionFloor = compactionFloor
        visit { r in r.isEmpty ? .empty : fresh.add(self.bytes(r)) }
        self = fresh
    }
}
