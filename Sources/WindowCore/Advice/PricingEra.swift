/// One row of the pricing-era table (SPEC section 13): from `from` on (until the next row
/// begins, or `until` when the row gives one), messages are priced by `model`, and each
/// category costs `inside` or `outside` its window.
///
/// "Inside" depends on the model: under conversation-based pricing (`cbp`) it is inside an
/// open `conversation` window of the template's category; under per-message pricing
/// (`pmp`) it is inside the contact's customer service window. A free-form (service)
/// message may only be sent inside the customer service window in every era, so a `pmp`
/// row gives `service` no `outside` word.
public struct PricingEra: Sendable, Equatable {
    public var id: String
    /// UTC ms.
    public var from: Int64
    /// UTC ms; nil: until the next row begins (or for ever, for the last row).
    public var until: Int64?
    public var model: EraModel
    /// By `MessageCategory.rawValue`.
    public var rules: [CostRule]

    public init(id: String, from: Int64, until: Int64? = nil, model: EraModel, rules: [CostRule]) {
        self.id = id
        self.from = from
        self.until = until
        self.model = model
        self.rules = rules
    }

    public func rule(_ category: MessageCategory) -> CostRule { rules[category.rawValue] }
}

public enum EraModel: String, Sendable, Equatable, CaseIterable {
    /// Conversation-based: a template opens a 24 h conversation of its category, charged once.
    case cbp
    /// Per message: every template is priced on its own.
    case pmp
}

/// What a message costs. `unknown` is never written in an era table: it is the answer when
/// no era covers the time asked about.
public enum SendCost: String, Sendable, Equatable, CaseIterable {
    case free
    case charged
    /// Free up to the monthly allowance, then charged.
    case freeQuota = "free_quota"
    case unknown
}

/// The cost of one category inside and outside its window.
public struct CostRule: Sendable, Equatable {
    public var inside: SendCost
    /// nil for `service` in a `pmp` row (never sendable outside the customer service window).
    public var outside: SendCost?

    public init(inside: SendCost, outside: SendCost?) {
        self.inside = inside
        self.outside = outside
    }
}

/// The four categories an advice answers for, in the order it lists them.
public enum MessageCategory: Int, Sendable, CaseIterable {
    case service, utility, marketing, authentication

    /// `service`, `utility`, …: the key in an era file and in an advice.
    public var name: String {
        switch self {
        case .service: "service"
        case .utility: "utility"
        case .marketing: "marketing"
        case .authentication: "authentication"
        }
    }

    /// The category as receipts carry it (`SERVICE`, `UTILITY`, …).
    public var upperName: String {
        switch self {
        case .service: "SERVICE"
        case .utility: "UTILITY"
        case .marketing: "MARKETING"
        case .authentication: "AUTHENTICATION"
        }
    }

    public static func named(_ name: String) -> MessageCategory? { allCases.first { $0.name == name.lowercased() } }
}
