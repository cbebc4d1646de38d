#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
    var byteCount: Int { buffer.count }

    /// Stores a copy of `bytes`.
    mutating func add(_ bytes: UnsafeRawBufferPointer) -> TextRef {
        guard bytes.count > 0 else { return .empty }
        precondition(buffer.count + bytes.count <= Int(UInt32.max), "a shard's strings exceed 4 GiB; use more --shards")
        let offset = buffer.count
        buffer.append(bytes)
        return TextRef(offset: UInt32(offset), count: UInt32(bytes.count))
    }

    mutating func add(_ bytes: UnsafeBufferPointer<UInt8>) -> TextRef { add(UnsafeRawBufferPointer(bytes)) }

    /// Stores a string's UTF-8 bytes.
    mutating func add(_ s: String) -> TextRef { EventText.withBytes(s) { add($0) } }

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

    @inline(__always)
    func equals(_ r: TextRef, _ other: UnsafeBufferPointer<UInt8>) -> Bool {
        Int(r.count) == other.count && (r.count == 0 || memcmp(buffer.base + Int(r.offset), other.baseAddress!, other.count) == 0)
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
