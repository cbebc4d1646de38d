/// The options that change window semantics (SPEC sections 3 and 4).
public struct EngineOptions: Sendable, Equatable {
    /// Customer service window length, ms (`--csw`).
    public var csw: Int64 = 86_400_000
    /// CBP conversation length, ms (`--conversation`).
    public var conversation: Int64 = 86_400_000
    /// Free-entry-point window length, ms (`--fep`).
    public var fep: Int64 = 259_200_000
    /// Receipts at or after this time without `pricing_model` are PMP (`--pmp-from`).
    public var pmpFrom: Int64 = 1_751_328_000_000  // 2025-07-01T00:00:00Z
    /// Warning leads in ms, deduplicated, zeros dropped, largest first (`--warn`).
    public private(set) var warnLeads: [Int64] = [3_600_000]

    public init() {}

    public mutating func setWarnLeads(_ leads: [Int64]) {
        warnLeads = Array(Set(leads.filter { $0 > 0 })).sorted(by: >)
    }

    @inlinable
    public func length(of kind: WindowKind) -> Int64 {
        switch kind {
        case .customerService: csw
        case .conversation: conversation
        case .freeEntryPoint: fep
        }
    }
}
