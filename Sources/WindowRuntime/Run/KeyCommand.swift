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
/// a contact lands in one partition, in order.
public enum KeyCommand {
    public struct Options: Equatable {
        /// nil: print contact keys.
        public var partitions: Int?
        public var maxLineBytes = 1 << 20
    }

    public static let helpText = """
    windowkeeper key — the partition key of each callback, for producers.

    USAGE
      windowkeeper key [--partitions N] < callbacks.ndjson > keyed.tsv
      windowkeeper key --partitions 4 < callbacks.ndjson | kcat -P -b BROKER -t callbacks -K '\\t'

    Writes every input line back unchanged behind KEY<TAB>. KEY is the line's contact key
    APP_ID/CONTACT (the same normalisation windowkeeper applies: spaces and one leading +
    removed from the identity, else contact_id), or - for a line without one (another
    channel, a bad line, a key holding a tab or line break). With --partitions N, KEY is the
    partition 0…N−1 that the contact's routing hash picks (the hash that picks shards), and
    0 for a line without a contact key. A Meta webhook body gets the key of its WhatsApp
    items when they all have one contact, else - (or 0). A last line without a newline gets one.

      --partitions N          print partition numbers (1…65536) instead of contact keys
      --max-line-bytes N      longer lines are copied through with key - (default 1048576)
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
        return o
    }

    /// Keys standard input onto standard output; returns the exit status. Lines are decoded
    /// in segments on worker threads (as the pipeline's reader does) and written in order.
    public static func run(_ o: Options, input: Int32 = 0, output: FDWriter = FDWriter(fd: 1),
                           errors: FDWriter = FDWriter(fd: 2)) -> Int32 {
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
            keyer.write(segment, &out)
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
    func write(_ segment: Segment, _ out: inout ByteBuffer) {
        var next = 0, nextItem = 0
        segment.decoder.arena.withUnsafeBufferPointer { arena in
            for i in 0..<segment.lineCount {
                switch segment.outcomes[i] {
                case .record:
                    putKey(segment.records[next], arena, &out)
                    next += 1
                case .webhook(let count):
                    putKey(Self.commonContact(segment.items[nextItem..<(nextItem + count)], arena), arena, &out)
                    nextItem += count
                default:
                    putKey(nil, arena, &out)
                }
                put(segment.line(i), &out)
            }
        }
    }

    private func put(_ line: UnsafeBufferPointer<UInt8>, _ out: inout ByteBuffer) {
        out.append(UnsafeRawBufferPointer(line))
        out.reserve(1)
        out.put(0x0A)
    }

    /// A Meta webhook body's key: the contact of its usable WhatsApp items when they all
    /// have the same one (a body usually speaks of one person); nil when they differ or
    /// there is none, so the line gets no key.
    static func commonContact(_ items: ArraySlice<WebhookItem>, _ arena: UnsafeBufferPointer<UInt8>) -> DecodedRecord? {
        func bytes(_ r: ByteRange) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(rebasing: arena[Int(r.start)..<Int(r.start + r.count)])
        }
        var first: DecodedRecord?
        for item in items {
            guard case .record = item.outcome, item.record.whatsapp, item.record.contact.count > 0 else { continue }
            let r = item.record
            if let f = first {
                guard f.contactHash == r.contactHash, bytes(f.app).elementsEqual(bytes(r.app)),
                      bytes(f.contact).elementsEqual(bytes(r.contact)) else { return nil }
            } else {
                first = r
            }
        }
        return first
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
