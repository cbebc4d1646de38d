import WindowCore

/// Generates a realistic stream of Sinch callbacks: contacts who write in bursts and
/// silences, business replies with QUEUED/DELIVERED/READ receipts, templates that open
/// conversations, free-entry-point windows, PMP-era receipts, other channels and callbacks,
/// and with `--faults` redeliveries, disorder, very late receipts and malformed lines.
struct Generator {
    enum Era: String { case cbp, pmp, mixed }
    enum Faults: String { case none, light, heavy }

    struct Options {
        var seed: UInt64 = 1
        var contacts = 50
        var days = 3
        var start: Int64?
        var era = Era.mixed
        var faults = Faults.light
        var lateness: Int64 = 0
        var pmpFrom = Timestamp.parse("2025-07-01T00:00:00Z")!

        var startTime: Int64 {
            if let start { return start }
            switch era {
            case .cbp: return Timestamp.parse("2024-05-16T00:00:00Z")!
            case .pmp: return Timestamp.parse("2025-09-01T00:00:00Z")!
            case .mixed: return pmpFrom - Int64(days) * 43_200_000
            }
        }
    }

    let options: Options
    private var rng: SimRandom
    private var idCounter = 0

    init(options: Options) {
        self.options = options
        rng = SimRandom(seed: options.seed)
    }

    static let hour: Int64 = 3_600_000
    static let apps = ["01EB37HMH1M6SV18BSNS3G135H", "01EB37HMH1M6SV18BSNS3G999Z"]

    private mutating func newID() -> String {
        idCounter += 1
        var h = FNV1a()
        h.add(Int64(idCounter))
        h.add(Int64(bitPattern: options.seed))
        let v = h.mixed
        return String(v, radix: 16).leftPad(16) + String(v &* 31, radix: 16).leftPad(16)
    }

    /// The records in event-time order (before arrival faults).
    private mutating func timeline() -> [SimRecord] {
        var out: [SimRecord] = []
        let start = options.startTime
        let end = start + Int64(options.days) * 24 * Self.hour
        for i in 0..<options.contacts {
            let app = Self.apps[i % Self.apps.count]
            let number = "4670" + String(1_000_000 + i * 7_919 % 9_000_000).leftPad(7)
            let contactID = "01HXCT" + String(i).leftPad(6)
            var convs: [String: (id: String, opened: Int64)] = [:]
            var fep: (id: String, start: Int64)?
            var lastInbound: Int64 = .min
            var t = start + rng.int(0...(12 * Self.hour))
            var first = true
            while t < end {
                if first, rng.chance(0.2) { fep = (newID(), t) }
                first = false
                // A burst of inbound messages.
                let burst = Int(rng.int(1...4))
                var mt = t
                for _ in 0..<burst {
                    let injected = rng.chance(0.04)
                    out.append(record(.inbound(injected: injected), app, number, contactID, mt, nil))
                    if !injected { lastInbound = mt }
                    mt += rng.int(5_000...(10 * 60_000))
                }
                // Replies from the business, each with its receipts.
                for _ in 0..<Int(rng.int(0...3)) {
                    mt += rng.int(10_000...(30 * 60_000))
                    let inCSW = mt < lastInbound + 24 * Self.hour
                    let pricing = price(at: mt, template: inCSW ? nil : "UTILITY", &convs, fep)
                    receipts(&out, app, number, contactID, sent: mt, pricing)
                }
                // Now and then a template outside any session.
                if rng.chance(0.3) {
                    let tt = mt + rng.int(Self.hour...(30 * Self.hour))
                    let category = rng.pick(["MARKETING", "UTILITY", "AUTHENTICATION"])
                    receipts(&out, app, number, contactID, sent: tt, price(at: tt, template: category, &convs, fep))
                }
                if rng.chance(0.08) {
                    var sms = record(.inbound(injected: false), app, number, contactID, mt + 1_000, nil)
                    sms.channel = "SMS"
                    out.append(sms)
                }
                if rng.chance(0.05) {
                    out.append(record(.other(key: rng.pick(["contact_merge_notification", "event", "capability_notification"])),
                                      app, number, contactID, mt + 2_000, nil))
                }
                t = mt + rng.int((2 * Self.hour)...(40 * Self.hour))
            }
        }
        out.sort { $0.time < $1.time }
        return out
    }

    /// Pricing of a business message sent at `t`, as Meta would set it.
    private mutating func price(at t: Int64, template: String?, _ convs: inout [String: (id: String, opened: Int64)],
                                _ fep: (id: String, start: Int64)?) -> SimRecord.Pricing {
        let pmpEra = t >= options.pmpFrom
        let inFEP = fep.map { t < $0.start + 72 * Self.hour } ?? false
        if pmpEra {
            var p = SimRecord.Pricing()
            p.model = rng.chance(0.8) ? rng.pick(["PMP", "pmp"]) : nil
            if inFEP {
                p.type = "FREE_ENTRY_POINT"
                p.category = rng.pick(["FREE_ENTRY_POINT", "REFERRAL_CONVERSION", "SERVICE"])
            } else {
                p.type = template == nil ? "FREE_CUSTOMER_SERVICE" : "REGULAR"
                p.category = template ?? "SERVICE"
            }
            if rng.chance(0.5) { p.conversationID = newID() }
            return p
        }
        var p = SimRecord.Pricing()
        if rng.chance(0.3) { p.model = "CBP" }
        if inFEP, let fep {
            p.category = "FREE_ENTRY_POINT"
            p.conversationID = fep.id
            return p
        }
        let category = template ?? "SERVICE"
        if let c = convs[category], t < c.opened + 24 * Self.hour {
            p.conversationID = c.id
        } else {
            let id = newID()
            convs[category] = (id, t)
            p.conversationID = id
        }
        p.category = rng.chance(0.1) ? category.lowercased() : category
        return p
    }

    private mutating func receipts(_ out: inout [SimRecord], _ app: String, _ number: String, _ contactID: String,
                                   sent: Int64, _ pricing: SimRecord.Pricing) {
        let dispatch = rng.chance(0.15)  // DISPATCH mode: no contact_id
        let id = dispatch ? "" : contactID
        if rng.chance(0.3) { out.append(record(.receipt(status: "QUEUED_ON_CHANNEL"), app, number, id, sent + 500, nil)) }
        if rng.chance(0.03) {
            out.append(record(.receipt(status: "FAILED"), app, number, id, sent + 1_000, nil))
            return
        }
        let delivered = sent + rng.int(800...30_000)
        if !rng.chance(0.1) { out.append(record(.receipt(status: "DELIVERED"), app, number, id, delivered, pricing)) }
        if rng.chance(0.6) {
            out.append(record(.receipt(status: "READ"), app, number, id, delivered + rng.int(1_000...(3 * Self.hour)),
                              rng.chance(0.7) ? pricing : nil))
        }
    }

    private mutating func record(_ kind: SimRecord.Kind, _ app: String, _ number: String, _ contactID: String,
                                 _ t: Int64, _ pricing: SimRecord.Pricing?) -> SimRecord {
        let identity: String
        switch rng.next() % 4 {
        case 0: identity = "+" + number
        case 1: identity = "+" + number.prefix(2) + " " + number.dropFirst(2).prefix(2) + " " + number.dropFirst(4)
        default: identity = number
        }
        return SimRecord(kind: kind, app: app, number: number, identity: identity, contactID: contactID,
                         time: t, pricing: pricing)
    }

    /// The stream in arrival order, with the faults asked for.
    mutating func generate() -> [SimRecord] {
        let base = timeline()
        var arrivals: [(key: Int64, seq: Int, record: SimRecord)] = []
        var seq = 0
        func arrive(_ r: SimRecord, at key: Int64) {
            arrivals.append((key, seq, r))
            seq += 1
        }
        let lateness = max(options.lateness, 1)
        for r in base {
            switch options.faults {
            case .none:
                arrive(r, at: r.time)
            case .light:
                arrive(r, at: r.time + rng.int(0...(lateness / 2)))
                if rng.chance(0.03) { arrive(r, at: r.time + rng.int(0...Self.hour)) }
            case .heavy:
                var key = r.time + rng.int(0...lateness)
                if rng.chance(0.1) { key += rng.int(0...(2 * lateness)) }
                if case .receipt = r.kind, rng.chance(0.04) { key += rng.int((2 * Self.hour)...(10 * Self.hour)) }
                arrive(r, at: key)
                if rng.chance(0.05) { arrive(r, at: key + rng.int(0...(5 * 24 * Self.hour))) }
            }
        }
        if options.faults == .heavy {
            for i in 0..<max(8, base.count / 50) {
                let r = rng.pick(base)
                arrive(malformed(from: r, kind: Self.malformedKinds[i % Self.malformedKinds.count]), at: r.time + rng.int(0...lateness))
            }
            // A record from long before the horizon (too_late once the clock runs), and one
            // line over the default 1 MiB limit (line_too_long).
            if let r = base.dropFirst(base.count / 2).first {
                var old = r
                old.time -= 40 * 24 * Self.hour
                arrive(old, at: r.time)
                var long = r
                long.malformed = "line_too_long"
                arrive(long, at: r.time)
            }
        }
        arrivals.sort { $0.key != $1.key ? $0.key < $1.key : $0.seq < $1.seq }
        return arrivals.map(\.record)
    }

    /// A line that must be rejected (or, for bad metadata, processed without pricing).
    static let malformedKinds = ["invalid_json", "invalid_utf8", "unknown_callback", "missing_field", "bad_timestamp",
                                 "missing_contact", "bad_metadata", "blank"]

    private func malformed(from r: SimRecord, kind: String) -> SimRecord {
        var m = r
        if kind == "bad_metadata" {
            m.kind = .receipt(status: "DELIVERED")
            m.channel = "WHATSAPP"
            m.badMetadata = true
            m.pricing = SimRecord.Pricing(conversationID: "never-used", category: "MARKETING")
        } else {
            m.malformed = kind
        }
        return m
    }
}

extension String {
    func leftPad(_ n: Int, with c: Character = "0") -> String {
        count >= n ? self : String(repeating: c, count: n - count) + self
    }
}
