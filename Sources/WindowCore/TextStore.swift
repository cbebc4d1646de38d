/// Where a string of the window table lives in its `TextStore`.
struct TextRef: Equatable {
    var offset: UInt32
    var count: UInt32

    static let empty = TextRef(offset: 0, count: 0)
    var isEmpty: Bool { count == 0 }
}

/// The strings of one engine's contacts and windows (app ids, contacts, contact ids,
/// categories, conversation ids) as UTF-8 bytes in one buffer: no object, reference count or
/// allocation per string, and events are encoded by copying bytes straight out of it.
///
/// Freed strings become garbage; `compact` copies the live ones into a fresh buffer once the
/// garbage outweighs them (the engine rewrites its references then).
struct TextStore: ~Copyable {
    private var buffer = ByteBuffer(capacity: 1 << 12)
    /// Bytes of freed strings still in the buffer.
    private(set) var garbage = 0

    var liveBytes: Int { buffer.count - garbage }

    /// Stores a copy of `bytes`.
    mutating func add(_ bytes: UnsafeRawBufferPointer) -> TextRef {
        guard bytes.count > 0 else { return .empty }
        precondition(buffer.count + bytes.count <= Int(UInt32.max), "a shard's strings exceed 4 GiB; use more --shards")
        let offset = buffer.count
        buffer.append(bytes)
        return TextRef(offset: UInt32(offset), count: UInt32(bytes.count))
    }

    mutating func add(_ bytes: UnsafeBufferPointer<UInt8>) -> TextRef { add(UnsafeRawBufferPointer(bytes)) }

    /// Marks a string as no longer referenced.
    mutating func free(_ r: TextRef) { garbage += Int(r.count) }

    /// The bytes of `r`; valid until the next `add` or `compact`.
    @inline(__always)
    func bytes(_ r: TextRef) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: buffer.base + Int(r.offset), count: Int(r.count))
    }

    func string(_ r: TextRef) -> String {
        String(decoding: bytes(r), as: UTF8.self)
    }

    /// Byte equality, compared eight bytes at a time inline (keys are short: no libc call).
    @inline(__always)
    func equals(_ r: TextRef, _ other: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = other.count
        guard Int(r.count) == n else { return false }
        guard n > 0 else { return true }
        let a = UnsafeRawPointer(buffer.base + Int(r.offset)), b = UnsafeRawPointer(other.baseAddress!)
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
        var fresh = TextStore()
        fresh.compactionFloor = compactionFloor
        fresh.buffer.reserve(liveBytes)
        visit { r in r.isEmpty ? .empty : fresh.add(self.bytes(r)) }
        self = fresh
    }
}
