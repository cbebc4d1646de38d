/// How far each input source has been read (`--positions`): the position of the last line
/// of each source that the sequencer has taken, in input order. What a checkpoint saves
/// beside the windows, taken at the same cut.
public struct SourcePositions: Sendable {
    private var sources: [[UInt8]] = []
    private var positions: [[UInt8]] = []
    /// Index of each source, once there are too many to search.
    private var index: [[UInt8]: Int] = [:]
    /// The source of the previous line: consecutive lines mostly share one.
    private var last = -1
    private static let searchLimit = 16

    public init(_ saved: [StateFile.SourcePosition] = []) {
        for p in saved { record(source: Array(p.source.utf8), position: Array(p.position.utf8)) }
    }

    public var isEmpty: Bool { sources.isEmpty }

    public mutating func record(source: UnsafeBufferPointer<UInt8>, position: UnsafeBufferPointer<UInt8>) {
        let k = slot(source)
        if k >= 0 {
            positions[k].removeAll(keepingCapacity: true)
            positions[k].append(contentsOf: position)
        } else {
            add(Array(source), Array(position))
        }
    }

    private mutating func record(source: [UInt8], position: [UInt8]) {
        source.withUnsafeBufferPointer { s in position.withUnsafeBufferPointer { record(source: s, position: $0) } }
    }

    /// The index of `source`, or -1.
    private mutating func slot(_ source: UnsafeBufferPointer<UInt8>) -> Int {
        if last >= 0, sources[last].elementsEqual(source) { return last }
        if sources.count > Self.searchLimit {
            last = index[Array(source)] ?? -1
            return last
        }
        last = sources.firstIndex { $0.elementsEqual(source) } ?? -1
        return last
    }

    private mutating func add(_ source: [UInt8], _ position: [UInt8]) {
        last = sources.count
        sources.append(source)
        positions.append(position)
        if sources.count > Self.searchLimit {
            if index.isEmpty { for (i, s) in sources.enumerated() { index[s] = i } } else { index[source] = last }
        }
    }

    /// Every source and its position, sorted by source (byte order).
    public var saved: [StateFile.SourcePosition] {
        zip(sources, positions)
            .sorted { $0.0.lexicographicallyPrecedes($1.0) }
            .map { StateFile.SourcePosition(source: String(decoding: $0.0, as: UTF8.self), position: String(decoding: $0.1, as: UTF8.self)) }
    }
}
