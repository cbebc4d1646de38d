public enum WindowKind: UInt8, Sendable, Comparable {
    case customerService = 0, conversation = 1, freeEntryPoint = 2

    public var name: String {
        switch self {
        case .customerService: "customer_service"
        case .conversation: "conversation"
        case .freeEntryPoint: "free_entry_point"
        }
    }

    /// The kind a feed or query names (`customer_service`, `conversation`, `free_entry_point`).
    public static func named(_ name: String) -> WindowKind? {
        [WindowKind.customerService, .conversation, .freeEntryPoint].first { $0.name == name }
    }

    public static func < (a: WindowKind, b: WindowKind) -> Bool { a.rawValue < b.rawValue }
}
