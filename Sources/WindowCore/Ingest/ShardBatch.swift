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
///
/// A batch is an ordered list that the shard walks (`Shard.process`): each record carries the
/// index of its line in the round, and each tick the line after which the clock moved, so
/// every step of the round is applied in line order. Any other per-shard step the sequencer
/// may one day order among the records takes the same form: a list tagged with line indices.
///
/// A round never spans two decoded segments, so the records' strings stay in the arena their
/// segment was decoded into, which the batches of all shards share and only read: routing
/// copies no string.
public struct ShardBatch: Sendable {
    /// Where the strings of `inputs` are.
    public private(set) var arena: ByteArena
    public var inputs: [WindowInput] = []
    /// Line index within the round of each input.
    public var lines: [Int32] = []
    public var ticks: [Tick] = []
    /// The records applied under another key or with a linked phone (SPEC section 12), by
    /// input index, in order; empty for input without user ids.
    public var persons: [PersonStep] = []
    /// Links whose L grew through an item of another shard (a group message), after their
    /// line: the phone's deadline for a user id of this shard.
    public var phoneSteps: [PhoneStep] = []
    /// Links of a phone to a user id (SPEC section 12) at their line, before its record: the
    /// phone's shard takes its windows, the user id's shard joins them.
    public var linkSteps: [LinkStep] = []

    /// Whether `arena` is this batch's own (`append(_:line:from:)` may write it) rather than a
    /// decoded segment's, which shards read.
    private let ownsArena: Bool

    /// A batch whose inputs' strings are in `arena`, a decoded segment's shared one.
    public init(arena: ByteArena) {
        self.arena = arena
        ownsArena = false
    }

    /// A batch with an arena of its own, which `append(_:line:from:)` copies strings into.
    public init() {
        arena = ByteArena()
        ownsArena = true
    }

    public var isEmpty: Bool { inputs.isEmpty && ticks.isEmpty && phoneSteps.isEmpty && linkSteps.isEmpty }

    /// Whether some step concerns people known by a user id (else the plain path applies).
    public var hasPeople: Bool { !persons.isEmpty || !phoneSteps.isEmpty || !linkSteps.isEmpty }

    /// Adds `input`, whose strings are in this batch's arena already.
    public mutating func append(_ input: WindowInput, line: Int32) {
        inputs.append(input)
        lines.append(line)
    }

    /// Adds `input` to be applied under the person its ids resolved to.
    public mutating func append(_ input: WindowInput, line: Int32, person: PersonNote) {
        persons.append(PersonStep(input: Int32(inputs.count), note: person))
        append(input, line: line)
    }

    /// Copies `input`'s strings from `source` into this batch's own arena (for batches put
    /// together line by line, each line decoded into the same reused arena). The decoder writes a
    /// record's strings next to each other, so the span that holds them all is usually copied
    /// at once (and each range moved by the same offset); strings far apart are copied one
    /// by one.
    public mutating func append(_ input: WindowInput, line: Int32, from source: UnsafeBufferPointer<UInt8>) {
        precondition(ownsArena, "copying into a shared arena")
        var low = Int32.max, high: Int32 = 0, bytes: Int32 = 0
        _ = input.mapStrings { r in  // visits each range
            if r.count > 0 {
                low = min(low, r.start)
                high = max(high, r.start + r.count)
                bytes += r.count
            }
            return r
        }
        let copy: WindowInput
        if bytes > 0, high - low <= 2 * bytes {
            let shift = Int32(arena.count) - low
            arena.append(UnsafeBufferPointer(rebasing: source[Int(low)..<Int(high)]))
            copy = input.mapStrings { $0.count > 0 ? ByteRange(start: $0.start + shift, count: $0.count) : .empty }
        } else {
            copy = input.mapStrings { r in
                guard r.count > 0 else { return .empty }
                let start = arena.count
                arena.append(UnsafeBufferPointer(rebasing: source[Int(r.start)..<Int(r.start + r.count)]))
                return ByteRange(start: Int32(start), count: r.count)
            }
        }
        inputs.append(copy)
        lines.append(line)
    }
}

/// A record of a batch applied under the person its ids resolved to (`ShardBatch.persons`).
public struct PersonStep: Sendable {
    /// Index in the batch's `inputs`.
    public var input: Int32
    public var note: PersonNote
}

/// The deadline of the phone linked to a user id, moved by an item that went to another
/// contact (`ShardBatch.phoneSteps`), after line `line` of the round.
public struct PhoneStep: Sendable {
    public var line: Int32
    public var app: [UInt8]
    public var user: [UInt8]
    public var note: PersonNote

    public init(line: Int32, app: [UInt8], user: [UInt8], note: PersonNote) {
        self.line = line
        self.app = app
        self.user = user
        self.note = note
    }
}

/// One side of a link at line `line` of a round (`ShardBatch.linkSteps`): the phone's shard
/// takes the phone's windows into the hand-off (`take`); the user id's shard emits
/// `contact_linked` and joins them.
public struct LinkStep: Sendable {
    public var line: Int32
    public var take: Bool
    public var link: PersonLink
    public var handOff: WindowHandOff
}
