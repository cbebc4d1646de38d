/// The `--state` file: a versioned binary snapshot of the clock and every open and
/// remembered window, with the options it was made with, indexed by contact bucket and
/// checksummed block by block (so `status` checks and reads one bucket, not the whole file).
///
/// Layout (little endian):
/// - header: magic "WKSTATE\0", version u32, options (csw, conversation, fep, pmp-from,
///   lateness: i64; clock mode u8; positions u8 (format 3); lead count u32 + i64 each), clock
///   i64, newest event time i64, app table (u32 count, strings), source positions (format 3:
///   u32 count, then source and position strings, sorted by source), links between phones and
///   user ids (format 4: u32 count, then app, phone and user id strings and L i64 each),
///   window count i64, bucket
///   bits u8, then the checksum of the header;
/// - index: for each of the 2^bits buckets, the end of its records (u64, from the start of
///   the records) and their checksum (u64), then the checksum of the index;
/// - records, bucket after bucket: kind u8, flags u8, warnDone u8, app index u32,
///   opened/expires/last i64, then contact, contact_id, category and conversation_id as
///   u32 length + UTF-8 (see `WindowImage`).
/// A window's bucket is the top `bits` bits of the routing hash of its (app_id, contact)
/// (`RoutingHash.contact`; changing that hash needs a new format version). Restoring in file
/// order therefore fills each shard's contact index from front to back. Strings are
/// length-prefixed, so no escaping; loading is one pass over the bytes.
public struct StateFile: Sendable, Equatable {
    public static let magic: [UInt8] = Array("WKSTATE".utf8) + [0]
    public static let version: UInt32 = 4
    /// The oldest format this build still reads (it has no source positions).
    public static let oldestReadable: UInt32 = 2
    /// The finest bucketing: shard images group their records by this many bits.
    public static let maxBucketBits = 16
    /// About how many windows a bucket of a file holds (fewer buckets for small files).
    static let windowsPerBucket = 256

    /// The options that change what the saved state means.
    public struct Semantics: Sendable, Equatable {
        public var engine: EngineOptions
        public var mode: ClockMode
        public var lateness: Int64
        /// Input lines carry `SOURCE<TAB>POSITION<TAB>` prefixes (`--positions`).
        public var positions: Bool

        public init(engine: EngineOptions, mode: ClockMode, lateness: Int64, positions: Bool = false) {
            self.engine = engine
            self.mode = mode
            self.lateness = lateness
            self.positions = positions
        }
    }

    /// How far one input source had been read at the cut: the position of its last line.
    public struct SourcePosition: Sendable, Equatable {
        public var source: String
        public var position: String

        public init(source: String, position: String) {
            self.source = source
            self.position = position
        }
    }

    public var semantics: Semantics
    /// The clock C (`Int64.min` before any record).
    public var clock: Int64
    /// Event mode: the largest event time seen (`Int64.min` before any record).
    public var newest: Int64
    /// With `--positions`: each source's last line before the cut, sorted by source.
    public var positions: [SourcePosition]
    /// The links between phones and user ids at the cut (format 4; SPEC section 12).
    public var links: [IdentityLinks.Link]
    public var windows: [SavedWindow]

    public init(semantics: Semantics, clock: Int64, newest: Int64, positions: [SourcePosition] = [], links: [IdentityLinks.Link] = [],
                windows: [SavedWindow]) {
        self.links = links
        self.semantics = semantics
        self.clock = clock
        self.newest = newest
        self.positions = positions
        self.windows = windows
    }

    public struct LoadError: Error, Equatable, CustomStringConvertible {
        public var description: String
        public init(_ d: String) { description = d }
    }

    // MARK: buckets

    /// The bucket of a contact, from its routing hash, at the finest resolution
    /// (`maxBucketBits` bits); a file with `bits` bits puts it in `fine >> (maxBucketBits - bits)`.
    @inline(__always)
    public static func fineBucket(contactHash: UInt64) -> Int { Int(truncatingIfNeeded: contactHash >> UInt64(64 - maxBucketBits)) }

    /// The fine bucket of (app, contact) given as a string and bytes (saved windows, lookups).
    static func fineBucket(app: String, contact: UnsafeBufferPointer<UInt8>) -> Int {
        fineBucket(contactHash: EventText.withBytes(app) { RoutingHash.contact(app: $0.assumingMemoryBound(to: UInt8.self), contact: contact) })
    }

    /// Bucket bits for a file of `n` windows.
    static func bucketBits(windows n: Int) -> Int {
        var bits = 0
        while bits < maxBucketBits, n >> bits > windowsPerBucket { bits += 1 }
        return bits
    }

    // MARK: reading

    /// What a state file holds besides its windows, and where the window records are.
    public struct Header: Sendable {
        public var semantics: Semantics
        public var clock: Int64
        public var newest: Int64
        public var apps: [String]
        public var positions: [SourcePosition]
        public var links: [IdentityLinks.Link]
        /// The format version the file was written in.
        public var version: UInt32
        public var windowCount: Int
        /// The file has `1 << bucketBits` buckets; their index starts at `indexStart`.
        public var bucketBits: Int
        var indexStart: Int
        /// Byte range of the window records in the file.
        public var windowsStart: Int
        public var windowsEnd: Int
    }

    /// Checks a whole state file (magic, version, every checksum, the structure of every
    /// record) and reads its header. Throws on anything that is not exactly a complete,
    /// intact file of a version this build knows; nothing is loaded from a file that fails.
    public static func open(_ b: UnsafeBufferPointer<UInt8>) throws(LoadError) -> Header {
        let h = try openHeader(b)
        var windows = 0
        for j in 0..<(1 << h.bucketBits) { windows += try checkBucket(b, h, j) }
        guard windows == h.windowCount else { throw LoadError("state file is corrupt (window count)") }
        return h
    }

    /// Checks the header and the bucket index (not the records) and reads the header.
    public static func openHeader(_ b: UnsafeBufferPointer<UInt8>) throws(LoadError) -> Header {
        guard b.count >= magic.count + 4, Array(b[0..<magic.count]) == magic else {
            throw LoadError("not a windowkeeper state file")
        }
        var r = Reader(bytes: b, pos: magic.count)
        let version = try r.u32()
        guard version <= Self.version else {
            throw LoadError("state file format \(version) is newer than this windowkeeper (\(Self.version))")
        }
        guard version >= Self.oldestReadable else {
            throw LoadError("state file format \(version) is from an earlier windowkeeper; this one reads formats \(Self.oldestReadable)-\(Self.version)")
        }
        var engine = EngineOptions()
        engine.csw = try r.i64()
        engine.conversation = try r.i64()
        engine.fep = try r.i64()
        engine.pmpFrom = try r.i64()
        let lateness = try r.i64()
        let mode: ClockMode = try r.u8() == 1 ? .event : .wall
        let positioned = version >= 3 ? try r.u8() == 1 : false
        let leadCount = Int(try r.u32())
        guard leadCount <= 64 else { throw LoadError("state file is corrupt (\(leadCount) warning leads)") }
        var leads: [Int64] = []
        for _ in 0..<leadCount { leads.append(try r.i64()) }
        let clock = try r.i64()
        let newest = try r.i64()
        let appCount = Int(try r.u32())
        guard appCount <= r.end - r.pos else { throw LoadError("state file is corrupt (app count)") }
        var apps: [String] = []
        for _ in 0..<appCount { apps.append(try r.string()) }
        var positions: [SourcePosition] = []
        if version >= 3 {
            let sourceCount = Int(try r.u32())
            guard sourceCount <= r.end - r.pos else { throw LoadError("state file is corrupt (source count)") }
            for _ in 0..<sourceCount { positions.append(SourcePosition(source: try r.string(), position: try r.string())) }
        }
        var links: [IdentityLinks.Link] = []
        if version >= 4 {
            let linkCount = Int(try r.u32())
            guard linkCount <= (r.end - r.pos) / 20 else { throw LoadError("state file is corrupt (link count)") }
            links.reserveCapacity(linkCount)
            for _ in 0..<linkCount {
                let app = Array(try r.field()), phone = Array(try r.field()), user = Array(try r.field())
                links.append(IdentityLinks.Link(app: app, phone: phone, user: user, last: try r.i64()))
            }
        }
        let count = try r.i64()
        let bits = Int(try r.u8())
        let headerEnd = r.pos
        guard try r.u64() == checksum(raw(b, 0..<headerEnd), seed: 0) else {
            throw LoadError("state file is corrupt (header checksum mismatch)")
        }
        guard bits <= maxBucketBits else { throw LoadError("state file is corrupt (bucket bits)") }
        let indexStart = r.pos
        try r.need((1 << bits) * 16 + 8)
        r.pos += (1 << bits) * 16
        guard try r.u64() == checksum(raw(b, indexStart..<(r.pos - 8)), seed: 1) else {
            throw LoadError("state file is corrupt or truncated (index checksum mismatch)")
        }
        engine.setWarnLeads(leads)
        var h = Header(semantics: Semantics(engine: engine, mode: mode, lateness: lateness, positions: positioned),
                       clock: clock, newest: newest, apps: apps, positions: positions, links: links, version: version, windowCount: 0, bucketBits: bits, indexStart: indexStart, windowsStart: r.pos, windowsEnd: r.pos)
        var previous = 0
        for j in 0..<(1 << bits) {
            // The end alone: a range from the previous end is not a range until this holds.
            let end = bucketEnd(b, h, j)
            guard end >= previous else { throw LoadError("state file is corrupt (bucket index)") }
            previous = end
        }
        guard previous == b.count else {
            throw LoadError(previous > b.count ? "state file is truncated" : "state file is corrupt (trailing bytes)")
        }
        guard count >= 0, count <= Int64(b.count - h.windowsStart) / Int64(WindowImage.recordBytes(textBytes: 0)) else {
            throw LoadError("state file is corrupt (window count)")
        }
        h.windowCount = Int(count)
        h.windowsEnd = b.count
        return h
    }

    private static func raw(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: b[range]))
    }

    /// Byte range of bucket `j`'s records in the file (from the index `openHeader` checked).
    static func bucketRange(_ b: UnsafeBufferPointer<UInt8>, _ h: Header, _ j: Int) -> Range<Int> {
        (j == 0 ? h.windowsStart : bucketEnd(b, h, j - 1))..<bucketEnd(b, h, j)
    }

    /// Where bucket `j`'s records end, as the index says (not yet checked against the others).
    static func bucketEnd(_ b: UnsafeBufferPointer<UInt8>, _ h: Header, _ j: Int) -> Int {
        let v = UInt64(littleEndian: UnsafeRawPointer(b.baseAddress! + h.indexStart + 16 * j).loadUnaligned(as: UInt64.self))
        return v > UInt64(Int.max / 2) ? Int.max / 2 : h.windowsStart + Int(v)
    }

    /// Checks bucket `j` (checksum, and that its records fill it exactly); returns how many
    /// windows it holds.
    static func checkBucket(_ b: UnsafeBufferPointer<UInt8>, _ h: Header, _ j: Int) throws(LoadError) -> Int {
        let range = bucketRange(b, h, j)
        let stored = UInt64(littleEndian: UnsafeRawPointer(b.baseAddress! + h.indexStart + 16 * j + 8).loadUnaligned(as: UInt64.self))
        guard checksum(raw(b, range), seed: UInt64(j)) == stored else {
            throw LoadError("state file is corrupt (checksum mismatch in bucket \(j))")
        }
        var r = Reader(bytes: b, pos: range.lowerBound)
        r.end = range.upperBound
        var n = 0
        while r.pos < r.end {
            try scanWindows(&r, count: 1, appCount: h.apps.count) { _ in }
            n += 1
        }
        return n
    }

    /// Visits the windows of a file that `open` accepted, strings as bytes in the file.
    public static func forEachWindow(_ b: UnsafeBufferPointer<UInt8>, _ h: Header, _ visit: (WindowView) -> Void) {
        forEachRecord(UnsafeBufferPointer(rebasing: b[h.windowsStart..<h.windowsEnd]), count: h.windowCount, visit)
    }

    /// The records of a file that `open` accepted, as `count` (or fewer) consecutive byte
    /// ranges of whole buckets with about the same number of bytes each, covering them all.
    public static func parts(_ b: UnsafeBufferPointer<UInt8>, _ h: Header, count: Int) -> [Range<Int>] {
        let buckets = 1 << h.bucketBits
        let total = h.windowsEnd - h.windowsStart
        var parts: [Range<Int>] = []
        var start = h.windowsStart
        for j in 0..<buckets {
            let end = bucketRange(b, h, j).upperBound
            // Cut after this bucket once the part has its share of the bytes.
            if end - h.windowsStart >= (parts.count + 1) * total / max(count, 1) || j == buckets - 1 {
                if end > start { parts.append(start..<end) }
                start = end
            }
        }
        return parts
    }

    /// Visits the windows in `range`, one of the `parts` of a file that `open` accepted.
    public static func forEachWindow(_ b: UnsafeBufferPointer<UInt8>, in range: Range<Int>, _ visit: (WindowView) -> Void) {
        var r = Reader(bytes: b, pos: range.lowerBound)
        r.end = range.upperBound
        while r.pos < r.end {
            guard (try? scanWindows(&r, count: 1, appCount: Int.max, visit)) != nil else { return }
        }
    }

    /// Visits the windows that may belong to `contact` (those of its buckets: one per app
    /// id of the file) in a file of which only `openHeader` was checked: each of those
    /// buckets is checked first.
    public static func forEachWindow(_ b: UnsafeBufferPointer<UInt8>, _ h: Header, contact: UnsafeBufferPointer<UInt8>,
                                     _ visit: (WindowView) -> Void) throws(LoadError) {
        var buckets: Set<Int> = []
        for app in h.apps { buckets.insert(fineBucket(app: app, contact: contact) >> (maxBucketBits - h.bucketBits)) }
        for j in buckets.sorted() {
            let n = try checkBucket(b, h, j)
            forEachRecord(UnsafeBufferPointer(rebasing: b[bucketRange(b, h, j)]), count: n, visit)
        }
    }

    /// Visits `count` well-formed window records.
    static func forEachRecord(_ b: UnsafeBufferPointer<UInt8>, count: Int, _ visit: (WindowView) -> Void) {
        var r = Reader(bytes: b, pos: 0)
        try? scanWindows(&r, count: count, appCount: Int.max, visit)
    }

    /// Decodes a whole state file into values (tests, tools; the pipeline restores from
    /// the bytes with `open` and `forEachWindow`).
    public static func decode(_ bytes: [UInt8]) throws(LoadError) -> StateFile {
        try bytes.withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(LoadError) -> StateFile in
            let h = try open(b)
            var windows: [SavedWindow] = []
            windows.reserveCapacity(h.windowCount)
            forEachWindow(b, h) { windows.append(SavedWindow($0, app: h.apps[$0.app])) }
            return StateFile(semantics: h.semantics, clock: h.clock, newest: h.newest, positions: h.positions, links: h.links,
                             windows: windows)
        }
    }

    /// One saved window with its strings still as bytes in the file.
    public struct WindowView {
        public var kind: WindowKind
        public var pmp: Bool
        public var open: Bool
        public var warnDone: UInt8
        public var app: Int
        public var opened: Int64, expires: Int64, last: Int64
        public var contact: UnsafeBufferPointer<UInt8>
        public var contactID: UnsafeBufferPointer<UInt8>
        public var category: UnsafeBufferPointer<UInt8>
        public var conversationID: UnsafeBufferPointer<UInt8>
    }

    private static func scanWindows(_ r: inout Reader, count: Int, appCount: Int, _ visit: (WindowView) -> Void) throws(LoadError) {
        for _ in 0..<count {
            guard let kind = WindowKind(rawValue: try r.u8()) else { throw LoadError("state file is corrupt (window kind)") }
            let flags = try r.u8()
            let warnDone = try r.u8()
            let app = Int(try r.u32())
            guard app < appCount else { throw LoadError("state file is corrupt (app index)") }
            let opened = try r.i64(), expires = try r.i64(), last = try r.i64()
            visit(WindowView(kind: kind, pmp: flags & 1 != 0, open: flags & 2 != 0, warnDone: warnDone, app: app,
                             opened: opened, expires: expires, last: last, contact: try r.field(), contactID: try r.field(),
                             category: try r.field(), conversationID: try r.field()))
        }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var pos: Int
        var end: Int

        init(bytes: UnsafeBufferPointer<UInt8>, pos: Int) {
            self.bytes = bytes
            self.pos = pos
            end = bytes.count
        }

        mutating func need(_ n: Int) throws(LoadError) {
            guard n >= 0, pos + n <= end else { throw LoadError("state file is truncated") }
        }
        mutating func u8() throws(LoadError) -> UInt8 {
            try need(1)
            defer { pos += 1 }
            return bytes[pos]
        }
        mutating func u32() throws(LoadError) -> UInt32 {
            try need(4)
            defer { pos += 4 }
            return UInt32(littleEndian: UnsafeRawPointer(bytes.baseAddress! + pos).loadUnaligned(as: UInt32.self))
        }
        mutating func u64() throws(LoadError) -> UInt64 {
            UInt64(bitPattern: try i64())
        }
        mutating func i64() throws(LoadError) -> Int64 {
            try need(8)
            defer { pos += 8 }
            return Int64(littleEndian: UnsafeRawPointer(bytes.baseAddress! + pos).loadUnaligned(as: Int64.self))
        }
        mutating func string() throws(LoadError) -> String {
            String(decoding: try field(), as: UTF8.self)
        }
        mutating func field() throws(LoadError) -> UnsafeBufferPointer<UInt8> {
            let n = Int(try u32())
            try need(n)
            defer { pos += n }
            return UnsafeBufferPointer(rebasing: bytes[pos..<(pos + n)])
        }
    }

    /// Why a saved state cannot be used with `current` options, or nil when it can.
    public static func incompatibility(saved: Semantics, current: Semantics) -> String? {
        var diffs: [String] = []
        let a = saved.engine, b = current.engine
        // The window lengths and the warning leads may change across a restart (docs/contract.md,
        // "Changing options across a restart"): saved windows keep their times, warnings
        // re-arm by the new leads (`WindowEngine.warningsDone`), new windows get the new lengths.
        if a.pmpFrom != b.pmpFrom { diffs.append("--pmp-from \(Timestamp.format(a.pmpFrom)) (now \(Timestamp.format(b.pmpFrom)))") }
        if saved.mode != current.mode { diffs.append("--clock \(saved.mode.rawValue) (now \(current.mode.rawValue))") }
        if saved.lateness != current.lateness { diffs.append("--lateness \(DurationText.format(saved.lateness)) (now \(DurationText.format(current.lateness)))") }
        if saved.positions != current.positions {
            diffs.append(saved.positions ? "--positions (now without)" : "no --positions (now with)")
        }
        return diffs.isEmpty ? nil : "the state file was made with " + diffs.joined(separator: ", ")
    }
}
