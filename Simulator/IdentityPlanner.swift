import WindowCore

/// Which ids the people of `generate` are known by (`--identities`).
enum IdentityMix: String {
    /// Phones only: the stream of before SPEC 12, byte for byte.
    case phone
    /// Every person has a business-scoped user id (BSUID), and many also a phone.
    case bsuid
    /// A third of the people by phone only, the rest as with `bsuid`.
    case mixed
}

/// Gives every record of an `--identities bsuid|mixed` stream the ids of its person (SPEC 12),
/// and adds what only people with BSUIDs do: user calls, group chats, numbers that change.
///
/// Each person (one generated contact: an app and a `number`) follows a profile over time:
/// - `withheld`: a username, no phone: BSUID only (Meta `from` absent or `""`);
/// - `steady`: phone and BSUID on every item;
/// - `journey`: phone only until t1, phone and BSUID until t2 (the link), BSUID only after;
/// - `split`: phone only or BSUID only at random until t1 (two contacts with windows), both
///   from t1 to t2 (the link merges them), then any of the three;
/// - `relink`: phone and BSUID until t1, BSUID only until t2, then the BSUID with a new phone;
/// - `newBsuid`: phone and BSUID until t1, phone only until t2, then the phone with a new BSUID.
/// The choice per record depends only on the person and the record's time and kind, so a
/// redelivered record carries the ids of its original. Links are forgotten and learned again
/// wherever a person is silent for longer than `--horizon` (pass a short one, e.g. `1d`).
/// People written as Sinch callbacks carry one id per line (Sinch links nothing): the BSUID
/// as `channel_identity.identity` or the phone; calls and groups are Meta's only.
struct IdentityPlanner {
    enum Profile {
        case phone, withheld, steady
        case journey(t1: Int64, t2: Int64)
        case split(t1: Int64, t2: Int64)
        case relink(t1: Int64, t2: Int64, newPhone: String)
        case newBsuid(t1: Int64, t2: Int64, newBsuid: String)
    }

    struct Person {
        var profile: Profile
        var bsuid: String
    }

    let mix: IdentityMix
    let start: Int64
    let end: Int64
    private var rng: SimRandom
    private var people: [String: Person] = [:]
    private(set) var profileCounts: [String: Int] = [:]

    static let countries = ["US", "BR", "IN", "DE", "SE", "GB", "MX"]

    init(mix: IdentityMix, seed: UInt64, start: Int64, days: Int) {
        self.mix = mix
        self.start = start
        end = start + Int64(days) * 86_400_000
        rng = SimRandom(seed: seed &+ 0x1D5E_B5D1)
    }

    /// The stream with ids, calls and groups; `isMeta` says which records the writer writes as
    /// Meta bodies (calls and groups exist only there).
    mutating func plan(_ records: [SimRecord], isMeta: (SimRecord) -> Bool) -> [SimRecord] {
        var out: [SimRecord] = []
        out.reserveCapacity(records.count + records.count / 8)
        for var r in records {
            if case .other = r.kind { out.append(r); continue }
            guard r.channel == "WHATSAPP" else {
                // Another channel carries no WhatsApp person's id: a number of its own.
                r.identity = "4699" + r.number.dropFirst(4)
                out.append(r)
                continue
            }
            let person = self.person(r)
            let h = Self.hash(r)
            var ids = ids(person, r, h)
            let meta = isMeta(r)
            if !meta {
                // Sinch: one id per line, the BSUID as the identity (never a link).
                if ids.phone != nil, ids.bsuid != nil { if h & 2 == 0 { ids.phone = nil } else { ids.bsuid = nil } }
                if let b = ids.bsuid { r.identity = b } else if let p = ids.phone, p != r.number { r.identity = p }
                r.ids = ids
                out.append(r)
                continue
            }
            r.ids = ids
            guard r.malformed == nil, !r.badMetadata else { out.append(r); continue }
            switch r.kind {
            case .inbound(false):
                if h % 100 < 8 {
                    // A message in one of the app's group chats: the group's window, not the person's.
                    r.ids?.group = Self.group(r.app, Int((h >> 8) % 3))
                    out.append(r)
                } else if h % 100 < 20 {
                    // A user's call: a contact message; then the call's end (counted only).
                    r.call = .userConnect
                    out.append(r)
                    var end = r
                    end.kind = .inbound(injected: true)
                    end.call = .other(event: "terminate", direction: "USER_INITIATED")
                    end.time += 60_000 + Int64((h >> 16) % 600) * 1_000
                    out.append(end)
                } else {
                    out.append(r)
                    if h % 100 == 20 {
                        // A call the business placed: counted only.
                        var call = r
                        call.kind = .inbound(injected: true)
                        call.call = .other(event: "connect", direction: "BUSINESS_INITIATED")
                        call.time += 30_000
                        out.append(call)
                    }
                }
            case .receipt(let status):
                out.append(r)
                if h % 100 < 4 {
                    // A receipt of a message the business sent to a group.
                    var g = r
                    g.ids = SimRecord.Ids(group: Self.group(r.app, Int((h >> 8) % 3)))
                    g.kind = .receipt(status: status == "QUEUED_ON_CHANNEL" ? "READ" : status)
                    g.pricing = nil
                    g.time += 1_000
                    out.append(g)
                }
            default:
                out.append(r)
            }
        }
        return out
    }

    static func group(_ app: String, _ i: Int) -> String {
        var h = FNV1a()
        for b in app.utf8 { h.addByte(b) }
        h.add(Int64(i))
        return "120363" + String(h.mixed % 1_000_000_000).leftPad(9)
    }

    /// A stable hash of what makes a record this record (its redeliveries share it).
    static func hash(_ r: SimRecord) -> UInt64 {
        var h = FNV1a()
        for b in r.app.utf8 { h.addByte(b) }
        for b in r.number.utf8 { h.addByte(b) }
        h.add(r.time)
        switch r.kind {
        case .inbound(let injected): h.add(injected ? 1 : 2)
        case .receipt(let status): for b in status.utf8 { h.addByte(b) }
        case .other: h.add(3)
        }
        return h.mixed
    }

    private mutating func person(_ r: SimRecord) -> Person {
        let key = r.app + "\u{1F}" + r.number
        if let p = people[key] { return p }
        let span = end - start
        let t1 = start + rng.int(0...(span / 2))
        let t2 = t1 + rng.int((span / 8)...(span / 2))
        var choices: [Profile] = [.withheld, .steady, .journey(t1: t1, t2: t2), .journey(t1: t1, t2: t2), .split(t1: t1, t2: t2),
                                  .split(t1: t1, t2: t2), .relink(t1: t1, t2: t2, newPhone: "4672" + r.number.dropFirst(4)),
                                  .newBsuid(t1: t1, t2: t2, newBsuid: "SE." + r.number.dropFirst(4) + "N")]
        if mix == .mixed { choices += [.phone, .phone, .phone] }
        let profile = rng.pick(choices)
        let digits = String(rng.int(1...9)) + (0..<Int(rng.int(8...19))).map { _ in String(rng.int(0...9)) }.joined()
        // Now and then a BSUID with letters: the pattern allows them.
        let tail = rng.chance(0.2) ? "a" + digits + "Zx" : digits
        let p = Person(profile: profile, bsuid: rng.pick(Self.countries) + "." + tail)
        people[key] = p
        profileCounts[Self.name(profile), default: 0] += 1
        return p
    }

    static func name(_ p: Profile) -> String {
        switch p {
        case .phone: "phone"
        case .withheld: "withheld"
        case .steady: "steady"
        case .journey: "journey"
        case .split: "split"
        case .relink: "relink"
        case .newBsuid: "newBsuid"
        }
    }

    private func ids(_ person: Person, _ r: SimRecord, _ h: UInt64) -> SimRecord.Ids {
        let p = r.number, b = person.bsuid, t = r.time
        func one(_ phone: String?, _ bsuid: String?) -> SimRecord.Ids { SimRecord.Ids(phone: phone, bsuid: bsuid) }
        switch person.profile {
        case .phone: return one(p, nil)
        case .withheld: return one(nil, b)
        case .steady: return one(p, b)
        case .journey(let t1, let t2): return t < t1 ? one(p, nil) : t < t2 ? one(p, b) : one(nil, b)
        case .split(let t1, let t2):
            if t < t1 { return h & 1 == 0 ? one(p, nil) : one(nil, b) }
            if t < t2 { return one(p, b) }
            switch h % 3 {
            case 0: return one(p, nil)
            case 1: return one(nil, b)
            default: return one(p, b)
            }
        case .relink(let t1, let t2, let newPhone): return t < t1 ? one(p, b) : t < t2 ? one(nil, b) : one(newPhone, b)
        case .newBsuid(let t1, let t2, let newBsuid): return t < t1 ? one(p, b) : t < t2 ? one(p, nil) : one(p, newBsuid)
        }
    }
}
