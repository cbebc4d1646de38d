#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Windows encoded as the window records of a state file, with the app table their app
/// indices refer to: what a shard hands over for a checkpoint (encoded by the shard itself,
/// straight from its window table, in parallel with the other shards).
///
/// Records are grouped by the bucket of their contact (`StateFile.fineBucket`, at the
/// finest `StateFile.maxBucketBits`), so that the file can index them by bucket without
/// sorting again: `bucketEnds[b]` is where bucket `b`'s records end in `records`.
///
/// Record layout (little endian): kind u8, flags u8 (1 = pmp, 2 = open), warnDone u8, app
/// index u32, opened/expires/last i64, then contact, contact_id, category and conversation
/// id, each as u32 length + UTF-8.
public struct WindowImage: Sendable {
    public var apps: [String] = []
    public var count = 0
    /// The records, unless they were written to `spill` instead.
    public var records: [UInt8] = []
    /// The file the records were written to (in bucket order, from offset 0), if any: a
    /// periodic checkpoint does not hold every shard's image in memory beside the tables.
    public var spill: SpillFile?
    /// `spill.generation` when the records were written.
    var spillGeneration = 0
    /// End offset in `records` (or in `spill`) of each fine bucket (`1 << StateFile.maxBucketBits`
    /// of them).
    public var bucketEnds: [Int] = Array(repeating: 0, count: 1 << StateFile.maxBucketBits)

    public init() {}

    /// Byte offset of the app index in a record.
    static let appOffset = 3
    /// Bytes of a record before its strings.
    static let fixedBytes = 3 + 4 + 24

    /// Bytes of a record with strings of `textBytes` bytes in all.
    static func recordBytes(textBytes: Int) -> Int { fixedBytes + 16 + textBytes }

    /// Writes records into memory sized exactly beforehand (no growth, no copy).
    struct Writer {
        var p: UnsafeMutableRawPointer
        var pos = 0

        @inline(__always)
        mutating func put<T: FixedWidthInteger>(_ v: T) {
            p.storeBytes(of: v.littleEndian, toByteOffset: pos, as: T.self)
            pos += MemoryLayout<T>.size
        }

        @inline(__always)
        mutating func put(_ field: UnsafeRawBufferPointer) {
            put(UInt32(field.count))
            if let b = field.baseAddress { (p + pos).copyMemory(from: b, byteCount: field.count) }
            pos += field.count
        }

        mutating func record(kind: WindowKind, pmp: Bool, open: Bool, warnDone: UInt8, app: UInt32,
                             opened: Int64, expires: Int64, last: Int64,
                             contact: UnsafeRawBufferPointer, contactID: UnsafeRawBufferPointer,
                             category: UnsafeRawBufferPointer, conversationID: UnsafeRawBufferPointer) {
            put(kind.rawValue)
            put(UInt8((pmp ? 1 : 0) | (open ? 2 : 0)))
            put(warnDone)
            put(app)
            put(opened)
            put(expires)
            put(last)
            put(contact)
            put(contactID)
            put(category)
            put(conversationID)
        }
    }

    /// Fills `records` with `n` windows grouped by bucket: `describe(i)` gives window `i`'s
    /// fine bucket (`StateFile.fineBucket`) and record size, `write(i, &w)` writes its
    /// record. Two passes (sizes per bucket, then every record at its bucket's cursor): no
    /// sort, no growth, no copy.
    mutating func fill(count n: Int, describe: (Int) -> (bucket: Int, size: Int),
                       write: (Int, inout Writer) -> Void) {
        let fine = StateFile.maxBucketBits
        let (bucketOf, starts) = Self.bucketStarts(count: n, describe: describe)
        var cursor = starts
        let size = cursor[1 << fine]
        records = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var w = Writer(p: UnsafeMutableRawPointer(buffer.baseAddress ?? UnsafeMutablePointer(bitPattern: 16)!))
            for i in 0..<n {
                let b = Int(bucketOf[i])
                w.pos = cursor[b]
                write(i, &w)
                cursor[b] = w.pos
            }
            initialized = size
        }
        precondition(cursor[(1 << fine) - 1] == size, "window image size")
        bucketEnds = Array(cursor[0..<(1 << fine)])
        count = n
    }

    /// Like `fill`, but the records go to `file`, a group of buckets at a time through a
    /// buffer of about 16 MiB, never all in memory (the same bytes `fill` puts in `records`).
    /// Each group is one more pass over the windows in table order. False when a write
    /// failed (the image is then unusable).
    mutating func fill(count n: Int, spillingTo file: SpillFile, describe: (Int) -> (bucket: Int, size: Int),
                       write: (Int, inout Writer) -> Void) -> Bool {
        let fine = StateFile.maxBucketBits
        let (bucketOf, starts) = Self.bucketStarts(count: n, describe: describe)
        let total = starts[1 << fine]
        var groupBits = 0
        while groupBits < fine, total >> (24 + groupBits) > 0 { groupBits += 1 }
        let shift = fine - groupBits
        var buffer: [UInt8] = []
        var cursor = starts
        for g in 0..<(1 << groupBits) {
            let first = g << shift, low = starts[first], size = starts[(g + 1) << shift] - low
            guard size > 0 else { continue }
            if buffer.count < size { buffer = [UInt8](repeating: 0, count: size) }
            let ok = buffer.withUnsafeMutableBytes { b -> Bool in
                var w = Writer(p: b.baseAddress!)
                for i in 0..<n where Int(bucketOf[i]) >> shift == g {
                    let bucket = Int(bucketOf[i])
                    w.pos = cursor[bucket] - low
                    write(i, &w)
                    cursor[bucket] = w.pos + low
                }
                return file.append(UnsafeRawBufferPointer(rebasing: b[0..<size]))
            }
            guard ok else { return false }
        }
        precondition(file.size == total, "window image size")
        bucketEnds = Array(cursor[0..<(1 << fine)])
        count = n
        spill = file
        spillGeneration = file.generation
        return true
    }

    /// Each window's fine bucket, and the byte offset where each bucket's records start
    /// (`1 << maxBucketBits` + 1 entries, the last one the total size).
    private static func bucketStarts(count n: Int, describe: (Int) -> (bucket: Int, size: Int)) -> ([UInt16], [Int]) {
        let fine = StateFile.maxBucketBits
        var bucketOf = [UInt16](repeating: 0, count: n)
        var cursor = [Int](repeating: 0, count: (1 << fine) + 1)
        for i in 0..<n {
            let (b, size) = describe(i)
            bucketOf[i] = UInt16(b)
            cursor[b + 1] += size
        }
        for b in 0..<(1 << fine) { cursor[b + 1] += cursor[b] }
        return (bucketOf, cursor)
    }

    /// The image of saved windows (tests, tools): apps interned in order of appearance.
    public init(_ windows: [SavedWindow]) {
        var index: [String: UInt32] = [:]
        var appOf: [UInt32] = []
        for w in windows {
            if let i = index[w.app] {
                appOf.append(i)
            } else {
                index[w.app] = UInt32(apps.count)
                appOf.append(UInt32(apps.count))
                apps.append(w.app)
            }
        }
        fill(count: windows.count, describe: { i in
            let w = windows[i]
            let size = Self.recordBytes(textBytes: w.contact.utf8.count + w.contactID.utf8.count + w.category.utf8.count
                                            + w.conversationID.utf8.count)
            let bucket = EventText.withBytes(w.contact) { StateFile.fineBucket(app: w.app, contact: $0.assumingMemoryBound(to: UInt8.self)) }
            return (bucket, size)
        }, write: { i, out in
            let w = windows[i], app = appOf[i]
            EventText.withBytes(w.contact) { contact in
                EventText.withBytes(w.contactID) { contactID in
                    EventText.withBytes(w.category) { category in
                        EventText.withBytes(w.conversationID) { conversationID in
                            out.record(kind: w.kind, pmp: w.pmp, open: w.open, warnDone: w.warnDone, app: app,
                                       opened: w.opened, expires: w.expires, last: w.last, contact: contact,
                                       contactID: contactID, category: category, conversationID: conversationID)
                        }
                    }
                }
            }
        })
    }
}

extension WindowEngine {
    /// Every open and remembered window of this shard, encoded for a state file.
    public func windowImage() -> WindowImage { image(spillingTo: nil)! }

    /// The same image with its records written to `spill` instead of memory; nil if
    /// writing failed.
    public func windowImage(spillingTo spill: SpillFile) -> WindowImage? { image(spillingTo: spill) }

    private func image(spillingTo spill: SpillFile?) -> WindowImage? {
        var image = WindowImage()
        image.apps = apps.map { text.string($0) }
        var slots: [Int32] = []
        slots.reserveCapacity(windows.count - freeWindows.count + contactIndex.count)
        for c in services.indices where services[c].present { slots.append(~Int32(c)) }
        for i in windows.indices where windows[i].contact >= 0 { slots.append(Int32(i)) }  // free slots have none
        func describe(_ i: Int) -> (bucket: Int, size: Int) {
            let w = self[window: slots[i]]
            let textBytes: Int = text.bytes(contacts[Int(w.contact)].contact).count + contactIDs.bytes(w.contactID).count
                + text.bytes(category(w)).count + text.bytes(conversationID(w)).count
            return (StateFile.fineBucket(contactHash: contactHash(w.contact)), WindowImage.recordBytes(textBytes: textBytes))
        }
        func write(_ i: Int, _ out: inout WindowImage.Writer) {
            let w = self[window: slots[i]]
            let c = contacts[Int(w.contact)]
            out.record(kind: w.kind, pmp: w.pmp, open: w.open, warnDone: w.warnDone, app: c.app,
                       opened: w.opened, expires: w.expires, last: last(w), contact: text.bytes(c.contact),
                       contactID: contactIDs.bytes(w.contactID), category: text.bytes(category(w)),
                       conversationID: text.bytes(conversationID(w)))
        }
        if let spill {
            return image.fill(count: slots.count, spillingTo: spill, describe: describe, write: write) ? image : nil
        }
        image.fill(count: slots.count, describe: describe, write: write)
        return image
    }
}

/// An unnamed file a window image is written to: created in the state file's directory
/// (`O_TMPFILE`, or a name removed at once), so nothing is left behind on any exit; closed
/// when the last image holding it goes. A shard keeps its file for the next checkpoint:
/// writing over pages still in the page cache is several times faster than into new ones.
public final class SpillFile: @unchecked Sendable {
    public let fd: Int32
    /// Bytes written since the last `rewind`.
    public private(set) var size = 0
    /// Counts rewinds: an image records it, so that one written over is never read back.
    public private(set) var generation = 0

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// A new empty file in `directory`, or nil when none can be made there.
    public static func create(in directory: String) -> SpillFile? {
        let dir = directory.isEmpty ? "." : directory
        #if os(Linux)
        // O_TMPFILE (__O_TMPFILE | O_DIRECTORY; the C macro is not imported).
        var fd = open(dir, O_RDWR | Int32(0o20000000) | O_DIRECTORY | O_CLOEXEC, 0o600)
        #else
        var fd: Int32 = -1
        #endif
        if fd < 0 {
            let path = dir + "/.windowkeeper-image-\(getpid())-\(UInt64.random(in: 0 ... .max))"
            fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return nil }
            unlink(path)
        }
        return SpillFile(fd: fd)
    }

    /// Starts the file over for a new image (its old bytes are written over, not freed).
    public func rewind() {
        size = 0
        generation += 1
    }

    /// Appends `bytes`; false on a write error (a full disk).
    func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard var p = bytes.baseAddress else { return true }
        var left = bytes.count
        while left > 0 {
            let n = pwrite(fd, p, left, off_t(size))
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            p += n
            left -= n
            size += n
        }
        return true
    }

    /// Reads `count` bytes at `offset` into `into`; false on a read error or a short file.
    func read(at offset: Int, count: Int, into: UnsafeMutableRawPointer) -> Bool {
        var done = 0
        while done < count {
            let n = pread(fd, into + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            if n == 0 { return false }
            done += n
        }
        return true
    }
}
