#if canImport(Glibc)
import Glibc
#endif
import Foundation
import WindowCore

/// `windowkeeper status --state FILE [--app ID] [--contact C] [--window KIND] [--category CAT]
/// [--at T]`: the windows open at T as NDJSON, with `remaining_s` as of T. Answers "is the
/// window with this contact open, for this category, and for how long?" from the file,
/// without running the processor. `--info` describes the file, `--positions` prints its
/// source positions, `--advice` answers as `/v1/advice` (`StatusCommand+Advice.swift`).
public enum StatusCommand {
    public static let helpText = """
    windowkeeper status — the windows in a state file, without running the processor.

    USAGE
      windowkeeper status --state FILE [--app ID] [--contact C] [--window KIND]
                          [--category CAT] [--at TIME]
      windowkeeper status --state FILE --advice --app ID --contact C [--at TIME]
                          [--pricing-eras FILE]
      windowkeeper status --state FILE --info
      windowkeeper status --state FILE --positions

    Prints the windows open at TIME (default: now), opened_at <= TIME < expires_at, as
    NDJSON with expires_at and remaining_s as of TIME. The file is the last checkpoint of a
    windowkeeper run with --state (up to --checkpoint-every old while it runs); for live
    answers ask the running process (--listen).

      --state FILE        the state file (required)
      --app ID            only this app_id
      --contact C         only this contact (normalised as the input: +46 73 200 11 22 is
                          46732001122); exit status 1 when none of its windows matches
      --window KIND       only customer_service, conversation or free_entry_point windows
      --category CAT      only windows of this category (matched upper-cased)
      --at TIME           RFC 3339 (default: now)
      --advice            instead of windows, one JSON object: may a free-form message
                          be sent to C at TIME, until when, and what a service, utility,
                          marketing or authentication message costs (as GET /v1/advice;
                          docs/advice.md). Needs --app (it may be empty: --app '') and
                          --contact; exit status 0 whatever the answer
      --pricing-eras FILE with --advice: the pricing-era table (JSON, docs/advice.md);
                          default: SPEC 13's four rows, the first PMP row starting at the
                          --pmp-from the state file was made with
      --info              one JSON object about the file: format version, the options it
                          was made with, the clock C and newest event time, window counts,
                          when it was written
      --positions         the saved position of each input source (--positions runs)
      -h, --help          this text

    Exit status: 0 windows printed (or none asked for a contact), or an advice printed;
    1 a contact was asked for and no window matches; 2 usage error or an unreadable,
    refused state file.
    """

    public struct Query: Equatable {
        public var statePath = ""
        public var app: String?
        public var contact: String?
        public var at: Int64?
        /// Print each source's saved position instead of windows.
        public var positions = false
        public var kind: WindowKind?
        /// Upper-cased.
        public var category: String?
        /// Print what the file is instead of windows.
        public var info = false
        /// Print the send advice for `contactGiven` instead of windows.
        public var advice = false
        /// The contact as given (`--contact`), for `ContactLookup`.
        public var contactGiven: String?
        /// `--pricing-eras FILE`, loaded (with `--advice`).
        public var eras: PricingEras?
    }

    /// nil when `--help` was asked for.
    public static func parse(_ arguments: [String]) throws(UsageError) -> Query? {
        var q = Query()
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            switch a {
            case "-h", "--help": return nil
            case "--positions", "--info", "--advice":
                if a == "--info" { q.info = true } else if a == "--advice" { q.advice = true } else { q.positions = true }
                i += 1
                continue
            default: break
            }
            guard i + 1 < arguments.count else { throw UsageError("status: \(a) needs a value") }
            let v = arguments[i + 1]
            switch a {
            case "--state": q.statePath = v
            case "--app": q.app = v
            case "--contact":
                q.contact = normalise(v)
                q.contactGiven = v
            case "--pricing-eras": q.eras = try PricingErasFile.load(v)
            case "--window":
                guard let k = WindowKind.named(v) else {
                    throw UsageError("status: --window must be customer_service, conversation or free_entry_point, not '\(v)'")
                }
                q.kind = k
            case "--category": q.category = v.uppercased()
            case "--at":
                guard let t = Timestamp.parse(v) else { throw UsageError("status: --at '\(v)' is not an RFC 3339 time") }
                q.at = t
            default: throw UsageError("status: unknown option \(a)")
            }
            i += 2
        }
        guard !q.statePath.isEmpty else { throw UsageError("status needs --state FILE") }
        if q.advice {
            guard !q.positions && !q.info else { throw UsageError("status: --advice, --info and --positions are different questions; ask one") }
            guard q.app != nil, let c = q.contact, !c.isEmpty else { throw UsageError("status --advice needs --app ID (it may be empty: --app '') and a non-empty --contact C") }
            guard q.kind == nil, q.category == nil else { throw UsageError("status --advice takes no --window or --category: it answers for every category") }
        } else if q.eras != nil {
            throw UsageError("status: --pricing-eras applies to --advice only")
        }
        if q.positions && q.info {
            throw UsageError("status: --positions and --info are two different questions; ask one")
        }
        if q.positions || q.info, q.app != nil || q.contact != nil || q.at != nil || q.kind != nil || q.category != nil {
            throw UsageError("status: \(q.info ? "--info" : "--positions") takes no --app, --contact, --window, --category or --at")
        }
        return q
    }

    /// The same contact key as the input's, through `ContactLookup`.
    static func normalise(_ identity: String) -> String {
        String(decoding: ContactLookup.key(app: "", identity: identity).contact, as: UTF8.self)
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
        if q.advice { return advice(q, file, now: now) }
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
            if q.info {
                info(header, file.bytes, path: q.statePath, &out)
                FileHandle.standardOutput.write(Data(bytes: out.base, count: out.count))
                return 0
            }
            let apps = header.apps
            // A phone or user id linked in an app is asked for as the person's key there
            // (SPEC section 12); the person's windows carry the linked phone.
            let persons = wantContact.map { Self.people(asked: $0, app: q.app, header.links) } ?? []
            var phones: [String: String] = [:]
            for link in header.links { phones[String(decoding: link.app, as: UTF8.self) + "\u{1F}" + String(decoding: link.user, as: UTF8.self)] = String(decoding: link.phone, as: UTF8.self) }
            var seen = Set<SavedWindow>()
            func visit(_ v: StateFile.WindowView) {
                guard v.open, v.opened <= t, t < v.expires else { return }
                if let kind = q.kind, v.kind != kind { return }
                if let category = q.category, !category.utf8.elementsEqual(v.category) { return }
                if let app = q.app, apps[v.app] != app { return }
                if let c = wantContact {
                    let app = Array(apps[v.app].utf8)
                    let linked = persons.first { $0.app == app }
                    guard (linked?.user ?? c).elementsEqual(v.contact) else { return }
                }
                let w = SavedWindow(v, app: apps[v.app])
                // A linked id is looked for under both its keys, which may share a bucket.
                if wantContact != nil, !seen.insert(w).inserted { return }
                found += 1
                line(w, at: t, phone: phones.isEmpty ? nil : phones[w.app + "\u{1F}" + w.contact], &out)
            }
            if let c = wantContact {
                for key in Set([c] + persons.map { $0.user }) {
                    try key.withUnsafeBufferPointer { (k: UnsafeBufferPointer<UInt8>) throws(StateFile.LoadError) in
                        try StateFile.forEachWindow(file.bytes, header, contact: k, visit)
                    }
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

    /// `--info`: what the file is.
    static func info(_ h: StateFile.Header, _ bytes: UnsafeBufferPointer<UInt8>, path: String, _ out: inout ByteBuffer) {
        var open = [0, 0, 0], remembered = 0
        StateFile.forEachWindow(bytes, h) { v in
            if v.open { open[Int(v.kind.rawValue)] += 1 } else { remembered += 1 }
        }
        let e = h.semantics.engine
        func key(_ k: String) {
            EventEncoder.appendString(k, &out)
            out.append(":")
        }
        out.append("{")
        key("format"); out.appendDecimal(Int64(h.version))
        out.append(",")
        key("options")
        out.append("{")
        key("clock"); EventEncoder.appendString(h.semantics.mode.rawValue, &out)
        for (name, value) in [("lateness", h.semantics.lateness), ("csw", e.csw), ("conversation", e.conversation), ("fep", e.fep)] {
            out.append(","); key(name); EventEncoder.appendString(DurationText.format(value), &out)
        }
        out.append(","); key("pmp_from"); EventEncoder.appendTime(e.pmpFrom, &out)
        out.append(","); key("warn"); EventEncoder.appendString(e.warnLeads.isEmpty ? "0" : e.warnLeads.map(DurationText.format).joined(separator: ","), &out)
        out.append(","); key("positions"); out.append(h.semantics.positions ? "true" : "false")
        out.append("},")
        key("clock")
        if h.clock == .min { out.append("null") } else { EventEncoder.appendTime(h.clock, &out) }
        out.append(","); key("newest_event_time")
        if h.newest == .min { out.append("null") } else { EventEncoder.appendTime(h.newest, &out) }
        out.append(","); key("windows"); out.appendDecimal(Int64(h.windowCount))
        out.append(","); key("open_windows")
        out.append("{")
        for (i, kind) in [WindowKind.customerService, .conversation, .freeEntryPoint].enumerated() {
            if i > 0 { out.append(",") }
            key(kind.name); out.appendDecimal(Int64(open[i]))
        }
        out.append("},"); key("remembered_windows"); out.appendDecimal(Int64(remembered))
        out.append(","); key("apps"); out.appendDecimal(Int64(h.apps.count))
        out.append(","); key("sources"); out.appendDecimal(Int64(h.positions.count))
        out.append(","); key("links"); out.appendDecimal(Int64(h.links.count))
        out.append(","); key("bytes"); out.appendDecimal(Int64(bytes.count))
        var st = stat()
        if stat(path, &st) == 0 {
            out.append(","); key("written_at")
            EventEncoder.appendTime(Int64(st.st_mtim.tv_sec) * 1_000 + Int64(st.st_mtim.tv_nsec) / 1_000_000, &out)
        }
        out.append("}\n")
    }

    /// `{"source":"callbacks/3","position":"18422"}`
    static func positionLine(_ p: StateFile.SourcePosition, _ out: inout ByteBuffer) {
        out.append("{\"source\":")
        EventEncoder.appendString(p.source, &out)
        out.append(",\"position\":")
        EventEncoder.appendString(p.position, &out)
        out.append("}\n")
    }

    /// The links whose phone or user id is `asked` (in `app`, or in any app): the person's key
    /// in each of those apps.
    static func people(asked: [UInt8], app: String?, _ links: [IdentityLinks.Link]) -> [IdentityLinks.Link] {
        links.filter { ($0.phone == asked || $0.user == asked) && (app == nil || $0.app.elementsEqual(app!.utf8)) }
    }

    static func line(_ w: SavedWindow, at t: Int64, phone: String? = nil, _ out: inout ByteBuffer) {
        out.append("{\"window\":\"")
        out.append(w.kind.jsonName)
        out.append("\"")
        for (key, value) in [("app_id", w.app), ("contact", w.contact), ("phone", phone ?? ""), ("contact_id", w.contactID),
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
