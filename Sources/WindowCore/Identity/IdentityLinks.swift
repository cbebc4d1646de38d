/// The links between the phones and the business-scoped user ids of one stream's people
/// (SPEC section 12), learned in line order before records are routed, so that every record
/// is applied under the key its ids resolve to at that point, whatever the number of shards.
///
/// A link (app, phone P) ↔ (app, user id B) is learned from an item that carries both; a new
/// link of B or of P replaces the old one of either. It is kept until the clock passes
/// L + horizon, L being the largest event time of the items (not `too_late`) that carried P
/// or B. So every id's latest item time is kept once the stream has shown a user id (input
/// without user ids costs nothing here), until the clock has left it a horizon behind: no
/// later item can then be earlier. Pure: time is passed in.
public struct IdentityLinks: Sendable {
    /// One id of a person, per app.
    struct Key: Hashable, Sendable {
        /// Index in `apps`.
        var app: UInt32
        var id: [UInt8]
        /// A user id, else a phone.
        var user: Bool
        /// A hash of the three, computed once (hashing the bytes one by one is what made
        /// dictionaries of byte arrays slow).
        var hash: UInt64

        init(app: UInt32, id: [UInt8], user: Bool) {
            self.app = app
            self.id = id
            self.user = user
            var h = WordHash()
            id.withUnsafeBytes { h.add($0) }
            h.add(UInt64(app) << 1 | (user ? 1 : 0))
            hash = h.mixed
        }

        static func == (a: Key, b: Key) -> Bool { a.hash == b.hash && a.app == b.app && a.user == b.user && a.id == b.id }
        func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    }

    /// One link, at a slot of `links`; a free slot has an empty `user`.
    public struct Link: Sendable, Equatable {
        public var app: [UInt8]
        public var phone: [UInt8]
        public var user: [UInt8]
        /// L: the largest event time of an item that carried the phone or the user id.
        public var last: Int64

        public init(app: [UInt8], phone: [UInt8], user: [UInt8], last: Int64) {
            self.app = app
            self.phone = phone
            self.user = user
            self.last = last
        }
    }

    /// What an item's ids resolved to.
    public struct Resolution: Sendable, Equatable {
        /// The user id the item's phone is linked to, when the item carries a phone and no
        /// user id (its decoded contact is the phone); else nil: its decoded contact is its key.
        public var user: [UInt8]?
        /// The phone linked to the key, empty when none.
        public var phone: [UInt8] = []
        /// The clock past which that link is forgotten.
        public var until: Int64 = .max
        /// This item linked its phone and user id anew: `contact_linked`, and the phone's
        /// windows join the user id's.
        public var learned = false
        /// The user id the item's phone was linked to before (it has no phone any more).
        public var unlinkedUser: [UInt8]?
        /// Another link whose L the item moved: its phone is linked to another user id than
        /// the item's (an item that links nothing); that user id's phone deadline moved.
        public var alsoExtended: Extended?
    }

    /// A link whose L an item moved, seen from its user id's shard.
    public struct Extended: Sendable, Equatable {
        public var user: [UInt8]
        public var phone: [UInt8]
        public var until: Int64
    }

    public let horizon: Int64
    private var links: [Link] = []
    private var free: [Int32] = []
    private var byUser: [Key: Int32] = [:]
    private var byPhone: [Key: Int32] = [:]
    /// When each link is to be looked at again: L + horizon as it was when the entry was
    /// pushed (a link whose L has grown since is pushed again when its entry surfaces).
    private var deadlines = TimerHeap()
    /// The latest event time of an item that carried each id (once `active`).
    private var seen: [Key: Int64] = [:]
    /// The clock when `seen` was last swept of times a horizon behind it.
    private var swept: Int64 = .min
    /// The app ids, interned (a link's `app` shares the stored bytes).
    private var apps: [[UInt8]] = []
    private var appIndex: [[UInt8]: UInt32] = [:]

    private mutating func intern(_ app: UnsafeBufferPointer<UInt8>) -> UInt32 {
        if let last = apps.last, last.elementsEqual(app) { return UInt32(apps.count - 1) }
        let bytes = Array(app)
        if let i = appIndex[bytes] { return i }
        apps.append(bytes)
        appIndex[bytes] = UInt32(apps.count - 1)
        return UInt32(apps.count - 1)
    }

    /// A user id has been seen: from then on every item's ids go through `resolve`.
    public private(set) var active = false
    /// Keep the links learned and forgotten in `changes` (for a directory that answers
    /// queries on another thread).
    public var recordsChanges = false
    /// Links learned (true) and forgotten or replaced (false) since the last `takeChanges`.
    public private(set) var changes: [(link: Link, learned: Bool)] = []

    /// The changes so far, emptied.
    public mutating func takeChanges() -> [(link: Link, learned: Bool)] {
        defer { changes.removeAll() }
        return changes
    }

    public init(horizon: Int64) {
        self.horizon = horizon
    }

    /// No link is known (input without user ids never makes one).
    public var isEmpty: Bool { byUser.isEmpty }
    public var count: Int { byUser.count }

    /// Resolves an item's ids (either may be empty) at event time `t`, learning the link
    /// they make when both are given and `linking` (system messages link nothing), and
    /// extending the L of the link they belong to. Before the first user id of the stream
    /// nothing is kept and every item resolves to its own decoded contact.
    public mutating func resolve(app: UnsafeBufferPointer<UInt8>, phone: UnsafeBufferPointer<UInt8>,
                                 user: UnsafeBufferPointer<UInt8>, at t: Int64, linking: Bool) -> Resolution {
        var r = Resolution(user: nil)
        if !user.isEmpty { active = true }
        guard active else { return r }
        let a = intern(app)
        let phoneKey = phone.isEmpty ? nil : Key(app: a, id: Array(phone), user: false)
        let userKey = user.isEmpty ? nil : Key(app: a, id: Array(user), user: true)
        if let phoneKey { seen[phoneKey] = max(seen[phoneKey] ?? .min, t) }
        if let userKey { seen[userKey] = max(seen[userKey] ?? .min, t) }
        if let phoneKey, let userKey, linking {
            if let s = byUser[userKey], links[Int(s)].phone == phoneKey.id {
                // already linked to each other
            } else {
                if let s = byUser[userKey] { remove(s) }
                if let s = byPhone[phoneKey] {
                    r.unlinkedUser = links[Int(s)].user
                    remove(s)
                }
                add(Link(app: apps[Int(a)], phone: phoneKey.id, user: userKey.id, last: max(seen[phoneKey]!, seen[userKey]!)))
                r.learned = true
            }
        }
        let s: Int32?
        if let userKey {
            s = byUser[userKey]
        } else if let phoneKey {
            s = byPhone[phoneKey]
            if let s { r.user = links[Int(s)].user }
        } else {
            s = nil
        }
        if let s {
            links[Int(s)].last = max(links[Int(s)].last, t)
            r.phone = links[Int(s)].phone
            r.until = links[Int(s)].last &+ horizon
        }
        // An item whose phone is linked to another user id than its own (a system message
        // links nothing) carried that phone too: L of the phone's link moves as well.
        if userKey != nil, let phoneKey, let other = byPhone[phoneKey], other != s {
            links[Int(other)].last = max(links[Int(other)].last, t)
            r.alsoExtended = Extended(user: links[Int(other)].user, phone: links[Int(other)].phone, until: links[Int(other)].last &+ horizon)
        }
        return r
    }

    /// Forgets every link whose L + horizon the clock `c` has passed (SPEC step 4).
    public mutating func forget(before c: Int64) {
        if active, c &- swept >= horizon / 2 {
            swept = c
            seen = seen.filter { $0.value >= c &- horizon }
        }
        while let top = deadlines.top, top.due < c {
            _ = deadlines.pop()
            let s = Int(top.slot)
            guard !links[s].user.isEmpty else { continue }  // removed since
            let until = links[s].last &+ horizon
            if until < c {
                remove(top.slot)
            } else if until != top.due {
                deadlines.push(TimerEntry(due: until, slot: top.slot))
            }
        }
    }

    /// The link an id belongs to, as a phone or as a user id (queries).
    public func link(app: [UInt8], id: [UInt8]) -> Link? {
        guard let a = appIndex[app],
              let s = byUser[Key(app: a, id: id, user: true)] ?? byPhone[Key(app: a, id: id, user: false)] else { return nil }
        return links[Int(s)]
    }

    /// Every link, in no particular order (state files).
    public var all: [Link] { links.filter { !$0.user.isEmpty } }

    /// Puts a saved link back.
    public mutating func restore(_ link: Link) {
        var link = link
        let a = link.app.withUnsafeBufferPointer { intern($0) }
        link.app = apps[Int(a)]
        let userKey = Key(app: a, id: link.user, user: true), phoneKey = Key(app: a, id: link.phone, user: false)
        if let s = byUser[userKey] { remove(s) }
        if let s = byPhone[phoneKey] { remove(s) }
        add(link)
        active = true
        seen[userKey] = max(seen[userKey] ?? .min, link.last)
        seen[phoneKey] = max(seen[phoneKey] ?? .min, link.last)
    }

    private mutating func add(_ link: Link) {
        let s: Int32
        if let f = free.popLast() {
            s = f
            links[Int(s)] = link
        } else {
            s = Int32(links.count)
            links.append(link)
        }
        let a = appIndex[link.app]!
        byUser[Key(app: a, id: link.user, user: true)] = s
        byPhone[Key(app: a, id: link.phone, user: false)] = s
        if recordsChanges { changes.append((link, true)) }
        deadlines.push(TimerEntry(due: link.last &+ horizon, slot: s))
    }

    private mutating func remove(_ s: Int32) {
        let link = links[Int(s)]
        if recordsChanges { changes.append((link, false)) }
        let a = appIndex[link.app]!
        byUser[Key(app: a, id: link.user, user: true)] = nil
        byPhone[Key(app: a, id: link.phone, user: false)] = nil
        links[Int(s)] = Link(app: [], phone: [], user: [], last: 0)
        free.append(s)
    }
}
