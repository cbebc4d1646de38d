/// Send advice (SPEC section 13): may a free-form message be sent to a contact at T, until
/// when, and what would a message of each category cost? A pure function of the contact's
/// windows open at T (as `/v1/windows` lists them), the pricing-era table and T.
public struct Advice: Sendable, Equatable {
    /// T.
    public var asOf: Int64
    /// What is answered at T; `next_change` is when it next differs.
    public var answer: Answer
    public var nextChange: Change?

    /// Everything the advice says that does not count down with T.
    public struct Answer: Sendable, Equatable {
        public var era: PricingEra?
        /// The customer service window, when one is open: free-form messages are allowed
        /// until it expires.
        public var freeForm: SavedWindow?
        /// The free-entry-point window open longest, if any.
        public var freeEntryPoint: SavedWindow?
        /// By `MessageCategory.rawValue`.
        public var categories: [CategoryAdvice]
    }

    public struct CategoryAdvice: Sendable, Equatable {
        public var category: MessageCategory
        public var sendable: Bool
        public var cost: SendCost
        /// What decided the cost (`why` puts it in words only when asked: comparing answers
        /// at the candidate instants of `next_change` builds no text).
        public var reason: Reason
        /// The era's id ("" without one).
        public var era: String

        public enum Reason: Sendable, Equatable {
            case noEra
            case freeEntryPoint(until: Int64)
            /// CBP: inside an open conversation of the category.
            case conversation(until: Int64)
            /// CBP: none open; the message opens one.
            case noConversation
            /// PMP: inside the customer service window.
            case customerService(until: Int64)
            /// PMP: no customer service window open.
            case noCustomerService
        }

        /// The window or era rule that decided it, in a few words.
        public var why: String {
            var text: String
            switch reason {
            case .noEra: return "no pricing era covers this time"
            case .freeEntryPoint(let until):
                text = "free_entry_point window open until \(Timestamp.format(until)): everything is free"
            case .conversation(let until):
                text = "\(category.upperName) conversation open until \(Timestamp.format(until)): \(Advice.words(cost)) inside it"
            case .noConversation:
                text = "no \(category.upperName) conversation open: opens one, \(Advice.words(cost))"
            case .customerService(let until):
                text = "customer_service window open until \(Timestamp.format(until)): per message, \(Advice.words(cost)) inside it"
            case .noCustomerService:
                text = category == .service ? "per message, \(Advice.words(cost)) inside it"
                                            : "no customer_service window open: per message, \(Advice.words(cost))"
            }
            text += " (\(era))"
            return sendable ? text : "no customer_service window open: free-form messages only inside one; then " + text
        }
    }

    /// The earliest moment after T at which any answer changes, and what happens then.
    public struct Change: Sendable, Equatable {
        public var at: Int64
        public var what: String
    }

    /// The advice at `t` from `windows` (the contact's windows; only those open at `t`,
    /// `opened_at ≤ t < expires_at`, are used) and `eras`.
    public init(windows: [SavedWindow], eras: PricingEras, at t: Int64) {
        let open = windows.filter { $0.open && $0.opened <= t && t < $0.expires }
        asOf = t
        answer = Self.answer(open, eras, t)
        // Candidates: every expiry of a window open at t and every era boundary after t.
        let candidates = Set(open.map(\.expires) + eras.boundaries(after: t)).sorted()
        nextChange = nil
        // Before any record (event mode, no clock yet) there is no T to count from.
        for x in candidates where t != .min {
            let later = open.filter { x < $0.expires }
            guard Self.answer(later, eras, x) != answer else { continue }
            var what = open.filter { $0.expires == x }.map(Self.expiry)
            what += eras.changes(at: x)
            nextChange = Change(at: x, what: what.joined(separator: "; "))
            break
        }
    }

    /// "customer_service window expires", "UTILITY conversation expires", …
    static func expiry(_ w: SavedWindow) -> String {
        switch w.kind {
        case .customerService: "customer_service window expires"
        case .freeEntryPoint: "free_entry_point window expires"
        case .conversation: w.category.isEmpty ? "conversation expires" : "\(w.category) conversation expires"
        }
    }

    static func answer(_ open: [SavedWindow], _ eras: PricingEras, _ t: Int64) -> Answer {
        let csw = open.first { $0.kind == .customerService }
        let fep = open.filter { $0.kind == .freeEntryPoint }.max { $0.expires < $1.expires }
        let era = eras.era(at: t)
        var categories: [CategoryAdvice] = []
        categories.reserveCapacity(MessageCategory.allCases.count)
        for c in MessageCategory.allCases {
            let (cost, reason) = price(c, era, csw, fep, open)
            categories.append(CategoryAdvice(category: c, sendable: c != .service || csw != nil, cost: cost, reason: reason, era: era?.id ?? ""))
        }
        return Answer(era: era, freeForm: csw, freeEntryPoint: fep, categories: categories)
    }

    /// The cost of a message of category `c`, and what decided it. For a service message
    /// outside the customer service window (not sendable), the cost it has once one is open.
    static func price(_ c: MessageCategory, _ era: PricingEra?, _ csw: SavedWindow?, _ fep: SavedWindow?,
                      _ open: [SavedWindow]) -> (SendCost, CategoryAdvice.Reason) {
        guard let era else { return (.unknown, .noEra) }
        if let fep { return (.free, .freeEntryPoint(until: fep.expires)) }
        let rule = era.rule(c)
        switch era.model {
        case .cbp:
            if let conversation = open.first(where: { $0.kind == .conversation && c.upperName.utf8.elementsEqual($0.category.utf8) }) {
                return (rule.inside, .conversation(until: conversation.expires))
            }
            return (rule.outside ?? .charged, .noConversation)
        case .pmp:
            if let csw { return (rule.inside, .customerService(until: csw.expires)) }
            return (c == .service ? rule.inside : rule.outside ?? .charged, .noCustomerService)
        }
    }

    static func words(_ cost: SendCost) -> String {
        switch cost {
        case .free: "free"
        case .charged: "charged"
        case .freeQuota: "free up to the monthly allowance, then charged"
        case .unknown: "cost unknown"
        }
    }
}
