public enum EventKind: UInt8, Sendable, CaseIterable {
    case opened = 0, updated = 1, expiring = 2, expired = 3
    /// A phone was linked to a business-scoped user id (SPEC section 12): not a window event.
    case linked = 4

    public var name: String {
        switch self {
        case .opened: "window_opened"
        case .updated: "window_updated"
        case .expiring: "window_expiring"
        case .expired: "window_expired"
        case .linked: "contact_linked"
        }
    }
}
