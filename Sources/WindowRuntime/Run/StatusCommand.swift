#if canImport(Glibc)
import Glibc
#endif
import Foundation
import WindowCore

/// `windowkeeper status --state FILE [--app ID] [--contact C] [--at T]`: the open windows
/// as NDJSON, with `remaining_s` as of T. Answers "is the window with this contact open, and
/// for how long?" without running the processor.
public enum StatusCommand {
    public struct Query: Equatable {
        public var statePath = ""
        public var app: String?
        public var contact: String?
        public var at: Int64?
        /// Print each source's saved position instead of windows.
        public var positions = false
    }

    public static func parse(_ arguments: [String]) throws(UsageError) -> Query {
        var q = Query()
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a == "--positions" {
                q.positions = true
                i += 1
                continue
            }
            guard i + 1 < arguments.count else { throw UsageError("status: \(a) needs a value") }
            let v = arguments[i + 1]
            switch a {
            case "--state": q.statePath = v
            case "--app": q.app = v
            case "--contact": q.contact = normalise(v)
            case "--at":
                guard let t = Timestamp.parse(v) else { throw UsageError("status: --at '\(v)' is not an RFC 3339 time") }
                q.at = t
            default: throw UsageError("status: unknown option \(a)")
            }
            i += 2
        }
        guard !q.statePath.isEmpty else { throw UsageError("status needs --state FILE") }
        if q.positions, q.app != nil || q.contact != nil || q.at != nil {
            throw UsageError("status: --positions prints the saved source positions and takes no --app, --contact or --at")
        }
        return q
    }

    /// The same contact key as the input's (`RecordDecoder.appendContactKey`).
    static func normalise(_ identity: String) -> String {
        let key = ByteArena(capacity: identity.utf8.count)
        Array(identity.utf8).withUnsafeBufferPointer { RecordDecoder.appendContactKey($0, to: key) }
        return String(decoding: key.array, as: UTF8.self)
    }

    /// Prints the matching open windows; returns the exit status (1: the contact has none).
    /// The file is mapped; for one contact only the header, the index and the contact's
    /// bucket are checked and read, otherwise the whole file. Only matching windows become
    /// strings.
    public static func run(_ q: Query, now: Int64 = System.nowMillis()) -> Int32 {
        let file: MappedFile
        switch MappedFile.open(q.statePath, populate: q.contact == nil) {
        case .success(let f): file = f
        case .failure(let e):
            FileHandle.standardError.write(Data("windowkeeper status: cannot read \(q.statePath): \(e)\n".utf8))
            return 2
        }
        let t = q.at ?? now
        var out = ByteBuffer()
        var found = 0
        let wantContact = q.contact.map { Array($0.utf8) }
        do {
            let header = try wantContact == nil ? StateFile.open(file.bytes) : StateFile.openHeader(file.bytes)
            if q.positions {
                for p in header.positions { positionLine(p, &out) }
                FileHandle.standardOutput.write(Data(bytes: out.base, count: out.count))
                return 0
            }
            let apps = header.apps
            func visit(_ v: StateFile.WindowView) {
                guard v.open, v.expires > t else { return }
                if let c = wantContact, !c.elementsEqual(v.contact) { return }
                if let app = q.app, apps[v.app] != app { return }
                found += 1
                line(SavedWindow(v, app: apps[v.app]), at: t, &out)
            }
            if let c = wantContact {
                try c.withUnsafeBufferPointer { (c: UnsafeBufferPointer<UInt8>) throws(StateFile.LoadError) in
                    try StateFile.forEachWindow(file.bytes, header, contact: c, visit)
                }
            } else {
                StateFile.forEachWindow(file.bytes, header, visit)
            }
        } catch {
            FileHandle.standardError.write(Data("windowkeeper status: \(q.statePath): \(error.description)\n".utf8))
            return 2
        }
        FileHandle.standardOutput.write(Data(bytes: out.base, count: out.count))
        return q.contact != nil && found == 0 ? 1 : 0
    }

    /// `{"source":"callbacks/3","position":"18422"}`
    static func positionLine(_ p: StateFile.SourcePosition, _ out: inout ByteBuffer) {
        out.append("{\"source\":")
        EventEncoder.appendString(p.source, &out)
        out.append(",\"position\":")
        EventEncoder.appendString(p.position, &out)
        out.append("}\n")
    }

    static func line(_ w: SavedWindow, at t: Int64, _ out: inout ByteBuffer) {
        out.append("{\"window\":\"")
        out.append(w.kind.jsonName)
        out.append("\"")
        for (key, value) in [("app_id", w.app), ("contact", w.contact), ("contact_id", w.contactID),
                             ("category", w.category), ("conversation_id", w.conversationID)] where !value.isEmpty {
            var k = ",\"\(key)\":"
            k.withUTF8 { out.append(UnsafeRawBufferPointer($0)) }
            EventEncoder.appendString(value, &out)
        }
        out.append(",\"opened_at\":")
        EventEncoder.appendTime(w.opened, &out)
        out.append(",\"expires_at\":")
        EventEncoder.appendTime(w.expires, &out)
        out.append(",\"remaining_s\":")
        out.appendDecimal((w.expires - t) / 1_000)
        out.append("}\n")
    }
}
