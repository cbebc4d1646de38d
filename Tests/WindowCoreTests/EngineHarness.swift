import Testing
@testable import WindowCore

/// Drives a `WindowEngine` line by line like the event clock does: each record is applied
/// at the current C, then C moves to max(C, t − lateness) and what is due fires.
struct EngineHarness: ~Copyable {
    var engine: WindowEngine
    var lateness: Int64 = 0
    static let hour: Int64 = 3_600_000
    /// Test times are hours after this base (2024-05-16T00:00:00Z).
    static let base: Int64 = Timestamp.parse("2024-05-16T00:00:00Z")!

    init(warn: [Int64] = [], lateness: Int64 = 0, configure: (inout EngineOptions) -> Void = { _ in }) {
        var options = EngineOptions()
        options.setWarnLeads(warn)
        configure(&options)
        engine = WindowEngine(options: options)
        engine.recordsEvents = true
        self.lateness = lateness
    }

    static func h(_ hours: Double) -> Int64 { base + Int64(hours * Double(hour)) }

    /// Events emitted so far as compact strings: "opened cs 46 [0,24) @0" (hours from base).
    var log: [String] { engine.events.map(Self.describe) }

    /// The events so far (checking that the feed bytes match them), then forgets them.
    mutating func drain() -> [String] {
        #expect(outputMatchesEvents)
        defer { engine.events.removeAll(); engine.output.removeAll() }
        return log
    }

    /// The engine's feed bytes so far equal the encoding of its event values, in order: the
    /// hot path (encoding straight from the window table, passes sorted as bytes) and the
    /// value path agree.
    var outputMatchesEvents: Bool {
        var expected = ByteBuffer()
        for e in engine.events { e.encode(into: &expected) }
        return expected.array == engine.output.array
    }

    static func describe(_ e: WindowEvent) -> String {
        func hrs(_ ms: Int64) -> String {
            let v = Double(ms - base) / Double(hour)
            return v == v.rounded() ? String(Int(v)) : String(v)
        }
        let kind = switch e.window {
        case .customerService: "cs"
        case .conversation: "conv"
        case .freeEntryPoint: e.pmp ? "fep-pmp" : "fep"
        }
        if e.event == .linked { return "linked \(e.contact) \(e.phone) @\(hrs(e.dueAt))" }
        let name = String(e.event.name.dropFirst("window_".count))
        let id = e.conversationID.isEmpty ? "" : " \(e.conversationID)"
        let phone = e.phone.isEmpty ? "" : " phone \(e.phone)"
        return "\(name) \(kind) \(e.contact)\(id) [\(hrs(e.openedAt)),\(hrs(e.expiresAt))) @\(hrs(e.dueAt))\(phone)"
    }

    /// Applies one record at hour `t`, then moves the clock like step 4–5 of the SPEC.
    mutating func record(_ op: WindowInput.Operation, contact: String, at t: Double, app: String = "APP",
                         contactID: String = "", category: String = "", id: String = "", fep: Bool = false,
                         person: PersonNote? = nil) {
        var arena: [UInt8] = []
        func put(_ s: String) -> ByteRange {
            let start = arena.count
            arena.append(contentsOf: s.utf8)
            return ByteRange(start: Int32(start), count: Int32(arena.count - start))
        }
        let appRange = put(app), contactRange = put(contact)
        let hash = arena.withUnsafeBufferPointer {
            RoutingHash.contact(app: UnsafeBufferPointer(rebasing: $0[Int(appRange.start)..<Int(appRange.start + appRange.count)]),
                              contact: UnsafeBufferPointer(rebasing: $0[Int(contactRange.start)..<Int(contactRange.start + contactRange.count)]))
        }
        let idRange = put(id)
        let keyHash = arena.withUnsafeBufferPointer {
            RoutingHash.conversation(contactHash: hash, id: UnsafeBufferPointer(rebasing: $0[Int(idRange.start)..<Int(idRange.start + idRange.count)]))
        }
        let input = WindowInput(operation: op, freeEntryPoint: fep, time: Self.h(t), contactHash: hash,
                                app: appRange, contact: contactRange, contactID: put(contactID),
                                category: put(category), conversationID: idRange, keyHash: keyHash)
        arena.withUnsafeBufferPointer { engine.apply(input, in: $0, person: person) }
        engine.advance(to: max(engine.clock, Self.h(t) - lateness))
    }

    /// Links `phone` to the user id `user` at hour `t` (SPEC section 12): the phone's windows
    /// are taken and joined to the user id's, the link kept until hour `until`. The clock
    /// then moves as after any item.
    mutating func link(_ user: String, phone: String, at t: Double, until: Double = 10_000, app: String = "APP") {
        let a = Array(app.utf8), p = Array(phone.utf8), u = Array(user.utf8)
        let moved = a.withUnsafeBufferPointer { app in p.withUnsafeBufferPointer { engine.takeWindows(app: app, contact: $0) } }
        a.withUnsafeBufferPointer { app in
            u.withUnsafeBufferPointer { engine.link(app: app, contact: $0, phone: p, until: Self.h(until), at: Self.h(t), moved: moved) }
        }
        engine.advance(to: max(engine.clock, Self.h(t) - lateness))
    }

    mutating func message(_ contact: String, at t: Double, contactID: String = "", person: PersonNote? = nil) {
        record(.contactMessage, contact: contact, at: t, contactID: contactID, person: person)
    }

    mutating func conversation(_ contact: String, _ id: String, at t: Double, category: String = "", fep: Bool = false, contactID: String = "") {
        record(.keyedReceipt, contact: contact, at: t, contactID: contactID, category: category, id: id, fep: fep)
    }

    mutating func pmpEntry(_ contact: String, at t: Double, id: String = "", category: String = "") {
        record(.pmpFreeEntry, contact: contact, at: t, category: category, id: id, fep: true)
    }

    /// Moves the clock to hour `t` (another contact's record, or end of input).
    mutating func clock(_ t: Double) {
        engine.advance(to: Self.h(t))
    }
}
