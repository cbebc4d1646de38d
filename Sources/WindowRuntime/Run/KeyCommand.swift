#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import WindowCore

/// `windowkeeper key [--partitions N]`: each input line back, byte for byte, behind
/// `KEY<TAB>`: its contact key `APP_ID/CONTACT`, or its partition `0…N−1` from the hash that
/// routes records to shards. Producers key their queue messages with it, so every record of
/// a contact lands in one partition, in order. A Meta body naming several people becomes
/// one line per person (`MetaBodySplit`). `key --contact ID` keys one id.
public enum KeyCommand {
    public struct Options: Equatable {
        /// nil: print contact keys.
        public var partitions: Int?
        public var maxLineBytes = 1 << 20
        /// `--contact ID`: key this one id instead of reading callbacks.
        public var contact: String?
        /// `--app APP`, with `--contact` (default empty, as `app_id` may be).
        public var app: String?
    }

    public static let helpText = """
    windowkeeper key — the partition key of each callback, for producers.

    USAGE
      windowkeeper key [--partitions N] < callbacks.ndjson > keyed.tsv
      windowkeeper key --partitions 4 < callbacks.ndjson | kcat -P -b BROKER -t callbacks -K '\\t'
      windowkeeper key --contact ID [--app APP] [--partitions N]

    Writes every input line back unchanged behind KEY<TAB>. KEY is the line's contact key
    APP_ID/CONTACT, keyed as windowkeeper keys records before it links ids: the BSUID
    (business-scoped user id, e.g. US.13491208655302741918) the line carries if any, else
    its phone (spaces and one leading + removed; Sinch: else contact_id), and for a group
    message or status group:GROUP_ID. A line without one (another channel, a bad line, a
    key holding a tab or line break) gets -. With --partitions N, KEY is the partition
    0…N−1 that the contact's routing hash picks (the hash that picks shards), and 0 for a
    line without a contact key. A Meta webhook body whose WhatsApp items belong to several
    people is written as one line per person, in order of first appearance: the same body
    holding only that person's items (and the contacts[] entries naming them); parts that
    belong to nobody go with the first person's line. These are the only lines not copied
    byte for byte. A last line without a newline gets one.

    With --contact ID, reads nothing and prints the key (or partition) of that one id: a
    BSUID (ID matching [A-Z]{2}(.ENT)?.[A-Za-z0-9]{1,128} once trimmed) as it is, an ID
    starting with group: as it is, anything else normalised as a phone.

      --partitions N          print partition numbers (1…65536) instead of contact keys
      --max-line-bytes N      longer lines are copied through with key - (default 1048576)
      --contact ID            key one id instead of reading callbacks
      --app APP               the app_id (or Meta phone_number_id) of --contact (default "")
      -h, --help              this text
    """

    /// nil when `--help` was asked for.
    public static func parse(_ arguments: [String]) throws(UsageError) -> Options? {
        var o = Options()
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            switch a {
            case "-h", "--help": return nil
            case "--contact", "--app":
                guard i + 1 < arguments.count else { throw UsageError("key: \(a) needs a value") }
                if a == "--contact" { o.contact = arguments[i + 1] } else { o.app = arguments[i + 1] }
                i += 2
            case "--partitions", "--max-line-bytes":
                guard i + 1 < arguments.count else { throw UsageError("key: \(a) needs a value") }
                let v = arguments[i + 1]
                if a == "--partitions" {
                    guard let n = Int(v), n >= 1, n <= 65_536 else {
                        throw UsageError("key: --partitions must be a whole number from 1 to 65536, not '\(v)'")
                    }
                    o.partitions = n
                } else {
                    guard let n = RunOptions.parseBytes(v), n >= 1 else {
                        throw UsageError("key: --max-line-bytes must be a positive number of bytes, not '\(v)'")
                    }
                    o.maxLineBytes = n
                }
                i += 2
            default:
                throw UsageError("key: " + (a.hasPrefix("-") ? "unknown option \(a)" : "unexpected argument '\(a)' (input is read from standard input)"))
            }
        }
        if o.app != nil, o.contact == nil { throw UsageError("key: --app needs --contact") }
        if let id = o.contact, contactKey(id).isEmpty { throw UsageError("key: --contact '\(id)' gives an empty key") }
        return o
    }

    /// The contact key of one id given by hand: `group:…` and BSUIDs (trimmed) as they are,
    /// anything else normalised as a phone (SPEC sections 2 and 12).
    public static func contactKey(_ id: String) -> [UInt8] {
        let raw = Array(id.utf8)
        if raw.starts(with: "group:".utf8) { return raw }
        let trimmed = raw.trimmingSpaces()
        if trimmed.withUnsafeBufferPointer({ RecordDecoder.isBSUID($0) }) { return trimmed }
        return phoneKey(raw)
    }

    /// A phone as section 2 normalises it (every space, then one leading `+`, removed).
    static func phoneKey(_ raw: [UInt8]) -> [UInt8] {
        let arena = ByteArena(capacity: raw.count + 1)
        raw.withUnsafeBufferPointer { RecordDecoder.appendContactKey($0, to: arena) }
        return arena.array
    }

    /// `key --contact`: the line `APP/KEY` or the partition number.
    public static func contactLine(_ o: Options) -> String {
        let key = contactKey(o.contact ?? "")
        let app = Array((o.app ?? "").utf8)
        if let partitions = o.partitions {
            let hash = app.withUnsafeBufferPointer { a in key.withUnsafeBufferPointer { RoutingHash.contact(app: a, contact: $0) } }
            return "\(RoutingHash.partition(hash, of: partitions))\n"
        }
        return String(decoding: app + [0x2F] + key, as: UTF8.self) + "\n"
    }

    /// Keys standard input onto standard output; returns the exit status. Lines are decoded
    /// in segments on worker threads (as the pipeline's reader does) and written in order.
    public static func run(_ o: Options, input: Int32 = 0, output: FDWriter = FDWriter(fd: 1),
                           errors: FDWriter = FDWriter(fd: 2)) -> Int32 {
        if o.contact != nil {
            output.write(Array(contactLine(o).utf8))
            return output.error == nil ? 0 : 1
        }
        var keyer = LineKeyer(partitions: o.partitions)
        var framer = LineFramer(maxLineBytes: o.maxLineBytes)
        var out = ByteBuffer(capacity: 2 << 20)
        let capacity = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
        defer { buffer.deallocate() }
        func flushOut() {
            if out.count >= 1 << 20 {
                output.write(out.bytes)
                out.removeAll()
            }
        }
        let pool = DecodePool(positioned: false) { segment in
            keyer.write(segment.decoded, &out)
            flushOut()
        }
        func sink(_ piece: FramedPiece) {
            if case .line(let line) = piece {
                pool.add(line, stable: false)
            } else {
                pool.submit(drain: true)  // long lines keep their place
                keyer.take(piece, &out)
                flushOut()
            }
        }
        while true {
            let n = read(input, buffer.baseAddress, capacity)
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                RunLog(errors: errors, clock: SystemWallClock()).error("key: reading standard input: \(String(cString: strerror(e)))")
                return 1
            }
            if n == 0 { break }
            framer.feed(UnsafeBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: n), sink)
            // Like the main run's reader: once no more input is waiting (a live pipe paused),
            // everything read so far is keyed and written now, not when 1 MiB has gathered.
            // A file is always ready; a pipe gets 2 ms to refill, so that a fast writer (cat,
            // a replay) does not make every read a pause that stops the decoders' overlap.
            if !inputReady(input, waitingMs: 2) {
                pool.submit(drain: true)
                if out.count > 0 {
                    output.write(out.bytes)
                    out.removeAll()
                }
            }
            if output.error != nil { break }
        }
        framer.finish(sink)
        pool.submit(drain: true)
        output.write(out.bytes)
        if let e = output.error {
            RunLog(errors: errors, clock: SystemWallClock()).error("key: writing standard output: \(String(cString: strerror(e)))")
            return 1
        }
        return 0
    }

    /// True when `fd` has more bytes (or its end) ready, now or within `waitingMs`.
    private static func inputReady(_ fd: Int32, waitingMs: Int32) -> Bool {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        while true {
            let r = poll(&fds, 1, waitingMs)
            if r < 0, errno == EINTR { continue }
            return r != 0
        }
    }
}

/// Writes lines back behind their key: decoded segments, and over-long lines (which have
/// no key) as the framer passes them on.
struct LineKeyer {
    let partitions: Int?
    private var inLongLine = false

    init(partitions: Int?) {
        self.partitions = partitions
    }

    /// An over-long line's parts and end (complete lines go through `write(_:_:)`).
    mutating func take(_ piece: FramedPiece, _ out: inout ByteBuffer) {
        switch piece {
        case .line:
            preconditionFailure("complete lines are keyed in segments")
        case .longPart(let part):
            if !inLongLine {
                inLongLine = true
                putNoKey(&out)
            }
            out.append(UnsafeRawBufferPointer(part))
        case .longEnd:
            inLongLine = false
            out.reserve(1)
            out.put(0x0A)
        }
    }

    /// Writes a decoded segment's lines behind their keys.
    func write(_ segment: DecodedSegment, _ out: inout ByteBuffer) {
        segment.arena.withUnsafeBufferPointer { arena in
            segment.forEachLine { i, outcome, record, items in
                switch outcome {
                case .record: putKey(record, arena, &out)
                case .webhook:
                    let items = Self.throughContacts(items, arena)
                    let common = Self.commonContact(items, arena)
                    if case .none = common, let split = MetaBodySplit(items, arena) {
                        for (p, bytes) in split.lines(segment.lines[i]).enumerated() {
                            putKey(split.people[p], arena, &out)
                            bytes.withUnsafeBufferPointer { put($0, &out) }
                        }
                        return true
                    }
                    putKey(common ?? nil, arena, &out)
                default: putKey(nil, arena, &out)
                }
                put(segment.lines[i], &out)
                return true
            }
        }
    }

    private func put(_ line: UnsafeBufferPointer<UInt8>, _ out: inout ByteBuffer) {
        out.append(UnsafeRawBufferPointer(line))
        out.reserve(1)
        out.put(0x0A)
    }

    /// A Meta webhook body's key: the contact of its usable WhatsApp items when they all
    /// have the same one (a body usually speaks of one person), `.some(nil)` when there is
    /// none (the line gets no key), nil when they name several (`MetaBodySplit` writes it).
    /// Link items (`contacts[]` entries) are no one's items.
    /// The items of a body as windowkeeper applies them: an item that carries only a phone
    /// which a `contacts[]` entry of its own change links to a BSUID is the BSUID's (SPEC 12:
    /// the entry links the two before the change's items), so it is keyed by the BSUID.
    static func throughContacts(_ items: ArraySlice<WebhookItem>, _ arena: UnsafeBufferPointer<UInt8>) -> ArraySlice<WebhookItem> {
        guard items.contains(where: \.isLink) else { return items }
        func bytes(_ r: ByteRange) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(rebasing: arena[Int(r.start)..<Int(r.start + r.count)])
        }
        var out = items
        for i in out.indices {
            let r = out[i].record
            guard case .record = out[i].outcome, !out[i].isLink, r.whatsapp, !r.group, r.userID.isEmpty, !r.phone.isEmpty else { continue }
            guard let link = items.first(where: { l in
                l.isLink && l.entry == out[i].entry && l.change == out[i].change && bytes(l.record.phone).elementsEqual(bytes(r.phone))
            }) else { continue }
            out[i].record.contact = link.record.contact
            out[i].record.contactHash = link.record.contactHash
        }
        return out
    }

    static func commonContact(_ items: ArraySlice<WebhookItem>, _ arena: UnsafeBufferPointer<UInt8>) -> DecodedRecord?? {
        func bytes(_ r: ByteRange) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(rebasing: arena[Int(r.start)..<Int(r.start + r.count)])
        }
        var first: DecodedRecord?
        for item in items {
            guard case .record = item.outcome, !item.isLink, item.record.whatsapp, item.record.contact.count > 0 else { continue }
            let r = item.record
            if let f = first {
                guard f.contactHash == r.contactHash, bytes(f.app).elementsEqual(bytes(r.app)),
                      bytes(f.contact).elementsEqual(bytes(r.contact)) else { return nil }
            } else {
                first = r
            }
        }
        return .some(first)
    }

    /// The key of a decoded record (nil: the line was not one), strings in `arena`.
    private func putKey(_ r: DecodedRecord?, _ arena: UnsafeBufferPointer<UInt8>, _ out: inout ByteBuffer) {
        guard let r, r.whatsapp, r.contact.count > 0 else { return putNoKey(&out) }
        func bytes(_ range: ByteRange) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(rebasing: arena[Int(range.start)..<Int(range.start + range.count)])
        }
        if let partitions {
            out.appendDecimal(Int64(RoutingHash.partition(r.contactHash, of: partitions)))
        } else {
            guard Self.plain(bytes(r.app)), Self.plain(bytes(r.contact)) else { return putNoKey(&out) }
            out.append(UnsafeRawBufferPointer(bytes(r.app)))
            out.reserve(1)
            out.put(0x2F)
            out.append(UnsafeRawBufferPointer(bytes(r.contact)))
        }
        out.reserve(1)
        out.put(0x09)
    }

    private func putNoKey(_ out: inout ByteBuffer) {
        out.reserve(2)
        if partitions == nil { out.put(0x2D) } else { out.put(0x30) }
        out.put(0x09)
    }

    /// A key can be written as it is: no tab, carriage return or line feed.
    private static func plain(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        !b.contains { $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
    }
}
