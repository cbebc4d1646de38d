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
