import WindowCore

/// The simulator's seeded randomness: SplitMix64 plus the few helpers generation needs.
struct SimRandom {
    private var base: SplitMix64

    init(seed: UInt64) { base = SplitMix64(seed: seed ^ 0x5DEE_CE66_D1CE_4E5B) }

    mutating func next() -> UInt64 { base.next() }
    mutating func int(_ range: ClosedRange<Int64>) -> Int64 {
        range.lowerBound + Int64(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) < p * 1_000_000 }

    mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }
}
