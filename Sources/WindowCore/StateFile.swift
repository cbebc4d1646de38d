/// The `--state` file: a versioned binary snapshot of the clock and every open and
/// remembered window, with the options it was made with and a checksum.
///
/// Layout (little endian): magic "WKSTATE\0", version u32, options (csw, conversation, fep,
/// pmp-from, lateness: i64; clock mode u8; lead count u32 + i64 each), clock i64, newest event
/// time i64, app table (u32 count, strings), window count u64, windows (kind u8, flags u8,
/// warnDone u8, app index u32, opened/expires/last i64, contact, contact_id, category,
/// conversation_id as u32 length + UTF-8), then FNV-1a 64 of everything before it.
/// Strings are length-prefixed, so no escaping; loading is one pass over the bytes.
public struct StateFile: Sendable, Equatable {
    public static let magic: [UInt8] = Array("WKSTATE".utf8) + [0]
    public static let version: UInt32 = 1

    /// The options that change what the saved state means.
    public struct Semantics: Sendable, Equatable {
        public var engine: EngineOptions
        public var mode: ClockMode
        public var lateness: Int64

        public init(engine: EngineOptions, mode: ClockMode, lateness: Int64) {
            self.engine = engine
            self.mode = mode
            self.lateness = lateness
        }
    }

    public var semantics: Semantics
    /// The clock C (`Int64.min` before any record).
    public var clock: Int64
    /// Event mode: the largest event time seen (`Int64.min` before any record).
    public var newest: Int64
    public var windows: [SavedWindow]

    public init(semantics: Semantics, clock: Int64, newest: Int64, windows: [SavedWindow]) {
        self.semantics = semantics
        self.clock = clock
        self.newest = newest
        self.windows = windows
    }

    public struct LoadError: Error, Equatable, CustomStringConvertible {
        public var description: String
        public init(_ d: String) { description = d }
    }

    // MARK: writing

    public func encoded() -> [UInt8] {
        var out = ByteBuffer(capacity: 64 + windows.count * 80)
        Self.magic.withUnsafeBytes { out.append($0) }
        put32(Self.version, &out)
        let e = semantics.engine
        for v in [e.csw, e.conversation, e.fep, e.pmpFrom, semantics.lateness] { put64(v, &out) }
        out.reserve(1)
        out.put(semantics.mode == .event ? 1 : 0)
        put32(UInt32(e.warnLeads.count), &out)
        for l in e.warnLeads { put64(l, &out) }
        put64(clock, &out)
        put64(newest, &out)
        var appIndex: [String: UInt32] = [:]
        var apps: [String] = []
        var lastApp = "", lastIndex: UInt32 = 0
        var indices: [UInt32] = []
        indices.reserveCapacity(windows.count)
        for w in windows {
            if w.app == lastApp, !apps.isEmpty { indices.append(lastIndex); continue }
            if let i = appIndex[w.app] {
                lastIndex = i
            } else {
                lastIndex = UInt32(apps.count)
                appIndex[w.app] = lastIndex
                apps.append(w.app)
            }
            lastApp = w.app
            indices.append(lastIndex)
        }
        put32(UInt32(apps.count), &out)
        for a in apps { putString(a, &out) }
        put64(Int64(windows.count), &out)
        for (w, app) in zip(windows, indices) {
            out.reserve(3)
            out.put(w.kind.rawValue)
            out.put((w.pmp ? 1 : 0) | (w.open ? 2 : 0))
            out.put(w.warnDone)
            put32(app, &out)
            put64(w.opened, &out)
            put64(w.expires, &out)
            put64(w.last, &out)
            putString(w.contact, &out)
            putString(w.contactID, &out)
            putString(w.category, &out)
            putString(w.conversationID, &out)
        }
        put64(Int64(bitPattern: Self.checksum(UnsafeBufferPointer(start: out.base, count: out.count))), &out)
        return out.array
    }

    private func put32(_ v: UInt32, _ out: inout ByteBuffer) { withUnsafeBytes(of: v.littleEndian) { out.append($0) } }
    private func put64(_ v: Int64, _ out: inout ByteBuffer) { withUnsafeBytes(of: v.littleEndian) { out.append($0) } }
    private func putString(_ s: String, _ out: inout ByteBuffer) {
        var s = s
        put32(UInt32(s.utf8.count), &out)
        s.withUTF8 { out.append(UnsafeRawBufferPointer($0)) }
    }

    /// A fast checksum of the file body: FNV-style multiply-xor over 64-bit words.
    public static func checksum(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        let raw = UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(bitPattern: 8)!)
        var i = 0
        while i + 8 <= bytes.count {
            h = (h ^ UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))) &* 0x0000_0100_0000_01B3
            h ^= h >> 29
            i += 8
        }
        while i < bytes.count {
            h = (h ^ UInt64(bytes[i])) &* 0x0000_0100_0000_01B3
            i += 1
        }
        return h ^ UInt64(bytes.count)
    }

    // MARK: reading

    /// Decodes a state file; throws on anything that is not exactly a complete, intact file
    /// of a version this build knows.
    public static func decode(_ bytes: [UInt8]) throws(LoadError) -> StateFile {
        try bytes.withUnsafeBufferPointer { (b: UnsafeBufferPointer<UInt8>) throws(LoadError) -> StateFile in
            guard b.count >= magic.count + 4, Array(b[0..<magic.count]) == magic else {
                throw LoadError("not a windowkeeper state file")
            }
            var r = Reader(bytes: b, pos: magic.count)
            let version = try r.u32()
            guard version <= Self.version else {
                throw LoadError("state file format \(version) is newer than this windowkeeper (\(Self.version))")
            }
            guard b.count >= magic.count + 12 else { throw LoadError("state file is truncated") }
            let stored = UInt64(littleEndian: UnsafeRawPointer(b.baseAddress! + b.count - 8).loadUnaligned(as: UInt64.self))
            guard checksum(UnsafeBufferPointer(rebasing: b[0..<(b.count - 8)])) == stored else {
                throw LoadError("state file is corrupt or truncated (checksum mismatch)")
            }
            r.end = b.count - 8
            var engine = EngineOptions()
            engine.csw = try r.i64()
            engine.conversation = try r.i64()
            engine.fep = try r.i64()
            engine.pmpFrom = try r.i64()
            let lateness = try r.i64()
            let mode: ClockMode = try r.u8() == 1 ? .event : .wall
            let leadCount = Int(try r.u32())
            guard leadCount <= 64 else { throw LoadError("state file is corrupt (\(leadCount) warning leads)") }
            var leads: [Int64] = []
            for _ in 0..<leadCount { leads.append(try r.i64()) }
            engine.setWarnLeads(leads)
            let clock = try r.i64()
            let newest = try r.i64()
            let appCount = Int(try r.u32())
            var apps: [String] = []
            for _ in 0..<appCount { apps.append(try r.string()) }
            var windows: [SavedWindow] = []
            windows.reserveCapacity(min((r.end - r.pos) / 40 + 1, 1 << 26))
            try scanWindows(&r, apps: apps) { v in
                windows.append(SavedWindow(kind: v.kind, pmp: v.pmp, open: v.open, warnDone: v.warnDone,
                                           opened: v.opened, expires: v.expires, last: v.last, app: apps[v.app],
                                           contact: string(v.contact), contactID: string(v.contactID),
                                           category: string(v.category), conversationID: string(v.conversationID)))
            }
            guard r.pos == r.end else { throw LoadError("state file is corrupt (trailing bytes)") }
            return StateFile(semantics: Semantics(engine: engine, mode: mode, lateness: lateness),
                             clock: clock, newest: newest, windows: windows)
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

    static func string(_ b: UnsafeBufferPointer<UInt8>) -> String { String(decoding: b, as: UTF8.self) }

    private static func scanWindows(_ r: inout Reader, apps: [String], _ visit: (WindowView) -> Void) throws(LoadError) {
        let count = try r.i64()
        guard count >= 0, count <= Int64(r.end - r.pos) / 40 + 1 else { throw LoadError("state file is corrupt (window count)") }
        for _ in 0..<count {
            guard let kind = WindowKind(rawValue: try r.u8()) else { throw LoadError("state file is corrupt (window kind)") }
            let flags = try r.u8()
            let warnDone = try r.u8()
            let app = Int(try r.u32())
            guard app < apps.count else { throw LoadError("state file is corrupt (app index)") }
            let opened = try r.i64(), expires = try r.i64(), last = try r.i64()
            visit(WindowView(kind: kind, pmp: flags & 1 != 0, open: flags & 2 != 0, warnDone: warnDone, app: app,
                             opened: opened, expires: expires, last: last, contact: try r.field(), contactID: try r.field(),
                             category: try r.field(), conversationID: try r.field()))
        }
    }

    /// Checks a file and visits its windows without building them (the status query):
    /// returns the app table; `visit` sees every window with its strings as bytes.
    public static func scan(_ b: UnsafeBufferPointer<UInt8>, _ visit: (WindowView, [String]) -> Void) throws(LoadError) {
        guard b.count >= magic.count + 12, Array(b[0..<magic.count]) == magic else { throw LoadError("not a windowkeeper state file") }
        var r = Reader(bytes: b, pos: magic.count)
        guard try r.u32() <= version else { throw LoadError("state file format is newer than this windowkeeper") }
        let stored = UInt64(littleEndian: UnsafeRawPointer(b.baseAddress! + b.count - 8).loadUnaligned(as: UInt64.self))
        guard checksum(UnsafeBufferPointer(rebasing: b[0..<(b.count - 8)])) == stored else {
            throw LoadError("state file is corrupt or truncated (checksum mismatch)")
        }
        r.end = b.count - 8
        r.pos += 5 * 8 + 1
        let leads = Int(try r.u32())
        guard leads <= 64 else { throw LoadError("state file is corrupt (\(leads) warning leads)") }
        r.pos += leads * 8 + 16
        let appCount = Int(try r.u32())
        var apps: [String] = []
        for _ in 0..<appCount { apps.append(try r.string()) }
        try scanWindows(&r, apps: apps) { visit($0, apps) }
        guard r.pos == r.end else { throw LoadError("state file is corrupt (trailing bytes)") }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var pos: Int
        lazy var end: Int = bytes.count

        init(bytes: UnsafeBufferPointer<UInt8>, pos: Int) {
            self.bytes = bytes
            self.pos = pos
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
        mutating func i64() throws(LoadError) -> Int64 {
            try need(8)
            defer { pos += 8 }
            return Int64(littleEndian: UnsafeRawPointer(bytes.baseAddress! + pos).loadUnaligned(as: Int64.self))
        }
        mutating func string() throws(LoadError) -> String {
            StateFile.string(try field())
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
        if a.csw != b.csw { diffs.append("--csw \(DurationText.format(a.csw)) (now \(DurationText.format(b.csw)))") }
        if a.conversation != b.conversation { diffs.append("--conversation \(DurationText.format(a.conversation)) (now \(DurationText.format(b.conversation)))") }
        if a.fep != b.fep { diffs.append("--fep \(DurationText.format(a.fep)) (now \(DurationText.format(b.fep)))") }
        if a.pmpFrom != b.pmpFrom { diffs.append("--pmp-from \(Timestamp.format(a.pmpFrom)) (now \(Timestamp.format(b.pmpFrom)))") }
        if a.warnLeads != b.warnLeads {
            diffs.append("--warn \(a.warnLeads.map(DurationText.format).joined(separator: ",")) (now \(b.warnLeads.map(DurationText.format).joined(separator: ",")))")
        }
        if saved.mode != current.mode { diffs.append("--clock \(saved.mode.rawValue) (now \(current.mode.rawValue))") }
        if saved.lateness != current.lateness { diffs.append("--lateness \(DurationText.format(saved.lateness)) (now \(DurationText.format(current.lateness)))") }
        return diffs.isEmpty ? nil : "the state file was made with " + diffs.joined(separator: ", ")
    }
}
