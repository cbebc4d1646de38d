public enum WindowKind: UInt8, Sendable, Comparable {
    case customerService = 0, conversation = 1, freeEntryPoint = 2

    public var name: String {
        switch self {
        case .customerService: "customer_service"
        case .conversation: "conversation"
        case .freeEntryPoint: "free_entry_point"
        }
    }

    public static func < (a: WindowKind, b: WindowKind) -> Bool { a.rawValue < b.rawValue }
}
