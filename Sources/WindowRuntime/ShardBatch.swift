import WindowCore

/// The clock after line `line` of a round (event mode), when it moved.
public struct Tick: Sendable, Equatable {
    public var line: Int32
    public var clock: Int64

    public init(line: Int32, clock: Int64) {
        self.line = line
        self.clock = clock
    }
}

/// The records of one shard for one round of input lines, plus the round's clock ticks
/// (shared by all shards of the round: the array's storage is not copied).
public struct ShardBatch: Sendable {
    public var arena: [UInt8] = []
    public var inputs: [WindowInput] = []
    /// Line index within the round of each input.
    public var lines: [Int32] = []
    public var ticks: [Tick] = []

    public init() {}

    public var isEmpty: Bool { inputs.isEmpty && ticks.isEmpty }

    /// Copies `input`'s strings from `source` into this batch's arena.
    public mutating func append(_ input: WindowInput, line: Int32, from source: UnsafeBufferPointer<UInt8>) {
        var copy = input
        func move(_ r: ByteRange) -> ByteRange {
            guard r.count > 0 else { return .empty }
            let start = arena.count
            arena.append(contentsOf: UnsafeBufferPointer(rebasing: source[Int(r.start)..<Int(r.start + r.count)]))
            return ByteRange(start: Int32(start), count: r.count)
        }
        copy.app = move(input.app)
        copy.contact = move(input.contact)
        copy.contactID = move(input.contactID)
        copy.category = move(input.category)
        copy.conversationID = move(input.conversationID)
        inputs.append(copy)
        lines.append(line)
    }
}

public enum ShardMessage: Sendable {
    case batch(ShardBatch)
    /// End of the stream; event mode moves the clock to the given value first.
    case finish(clock: Int64?)
    /// A checkpoint: the shard's windows after everything sent before this message, and
    /// how long (ns) the shard spent taking them. With a directory, the records of a shard
    /// holding at least `atLeast` windows are written to an unnamed file there instead of
    /// memory (to memory when that fails).
    case snapshot(spillTo: String?, atLeast: Int, @Sendable (WindowImage, UInt64) -> Void)
}
