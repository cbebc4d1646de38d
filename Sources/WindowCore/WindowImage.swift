/// Windows encoded as the window records of a state file, with the app table their app
/// indices refer to: what a shard hands over for a checkpoint (encoded by the shard itself,
/// straight from its window table, in parallel with the other shards).
///
/// Record layout (little endian): kind u8, flags u8 (1 = pmp, 2 = open), warnDone u8, app
/// index u32, opened/expires/last i64, then contact, contact_id, category and conversation
/// id, each as u32 length + UTF-8.
public struct WindowImage: Sendable {
    public var apps: [String] = []
    public var count = 0
    public var records: [UInt8] = []

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

    /// Fills `records` with exactly `size` bytes through a `Writer`.
    static func records(size: Int, _ fill: (inout Writer) -> Void) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var w = Writer(p: UnsafeMutableRawPointer(buffer.baseAddress ?? UnsafeMutablePointer(bitPattern: 16)!))
            fill(&w)
            precondition(w.pos == size, "window image size")
            initialized = size
        }
    }

    /// The image of saved windows (tests, tools): apps interned in order of appearance.
    public init(_ windows: [SavedWindow]) {
        var index: [String: UInt32] = [:]
        var appOf: [UInt32] = []
        var size = 0
        for w in windows {
            if let i = index[w.app] {
                appOf.append(i)
            } else {
                index[w.app] = UInt32(apps.count)
                appOf.append(UInt32(apps.count))
                apps.append(w.app)
            }
            size += Self.recordBytes(textBytes: w.contact.utf8.count + w.contactID.utf8.count + w.category.utf8.count
                                         + w.conversationID.utf8.count)
        }
        records = Self.records(size: size) { out in
            for (w, app) in zip(windows, appOf) {
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
            }
        }
        count = windows.count
    }
}

extension WindowEngine {
    /// Every open and remembered window of this shard, encoded for a state file.
    public func windowImage() -> WindowImage {
        var image = WindowImage()
        image.apps = apps.map { text.string($0) }
        var free = [Bool](repeating: false, count: windows.count)
        for s in freeWindows { free[Int(s)] = true }
        var size = 0
        for (i, w) in windows.enumerated() where !free[i] {
            let textBytes = Int(contacts[Int(w.contact)].contact.count) + Int(w.contactID.count) + Int(w.category.count)
                + Int(w.conversationID.count)
            size += WindowImage.recordBytes(textBytes: textBytes)
            image.count += 1
        }
        image.records = WindowImage.records(size: size) { out in
            for (i, w) in windows.enumerated() where !free[i] {
                let c = contacts[Int(w.contact)]
                out.record(kind: w.kind, pmp: w.pmp, open: w.open, warnDone: w.warnDone, app: c.app,
                           opened: w.opened, expires: w.expires, last: w.last, contact: text.bytes(c.contact),
                           contactID: text.bytes(w.contactID), category: text.bytes(w.category),
                           conversationID: text.bytes(w.conversationID))
            }
        }
        return image
    }
}
