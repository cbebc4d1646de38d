/// A shard's walk through a batch whose steps concern people known by a user id (SPEC
/// section 12), on its engine: at each line, in this order, its links (the phone's windows
/// taken into the hand-off, or joined to the user id's), its record with the person its ids
/// resolved to, phone deadlines moved by other shards' items, then the clock tick.
///
/// The walk stops at a join whose windows another shard has not taken yet, returning the
/// hand-off to wait for; `run` again with the windows goes on where it stopped.
public struct BatchWalk: Sendable {
    public let batch: ShardBatch
    private var link = 0, input = 0, phone = 0, tick = 0, person = 0

    public init(_ batch: ShardBatch) {
        self.batch = batch
    }

    /// Walks on from where it stopped. `ticks`: event mode (wall mode has none; its joins
    /// fire what is due at once, `firesAfterJoin`). Returns nil once the batch is done.
    public mutating func run(on engine: inout WindowEngine, ticks useTicks: Bool, firesAfterJoin: Bool,
                             moved: [SavedWindow]? = nil) -> WindowHandOff? {
        var moved = moved
        let batch = self.batch
        let ticks = useTicks ? batch.ticks : []
        // Steps in order of (line, phase): links 0, the record 1, phone steps 2, the tick 3.
        func key(_ line: Int32, _ phase: Int64) -> Int64 { Int64(line) << 2 | phase }
        let done = Int64.max
        return batch.arena.withUnsafeBufferPointer { arena in
            while true {
                let l = link < batch.linkSteps.count ? key(batch.linkSteps[link].line, 0) : done
                let i = input < batch.inputs.count ? key(batch.lines[input], 1) : done
                let p = phone < batch.phoneSteps.count ? key(batch.phoneSteps[phone].line, 2) : done
                let t = tick < ticks.count ? key(ticks[tick].line, 3) : done
                let next = min(l, i, p, t)
                if next == done { return nil }
                if next == l {
                    let step = batch.linkSteps[link]
                    if step.take {
                        step.handOff.put(step.link.app.withUnsafeBufferPointer { a in
                            step.link.phone.withUnsafeBufferPointer { engine.takeWindows(app: a, contact: $0) }
                        })
                    } else {
                        guard let windows = moved ?? step.handOff.ready() else { return step.handOff }
                        moved = nil
                        step.link.app.withUnsafeBufferPointer { app in
                            step.link.user.withUnsafeBufferPointer {
                                engine.link(app: app, contact: $0, phone: step.link.phone, until: step.link.until, at: step.link.time, moved: windows)
                            }
                        }
                        // Event mode: the line's tick fires what the join made due, after its record.
                        if firesAfterJoin { engine.advance(to: engine.clock) }
                    }
                    link += 1
                } else if next == i {
                    var note: PersonNote?
                    if person < batch.persons.count, batch.persons[person].input == Int32(input) {
                        note = batch.persons[person].note
                        person += 1
                    }
                    engine.apply(batch.inputs[input], in: arena, person: note)
                    engine.advance(to: engine.clock)
                    input += 1
                } else if next == p {
                    let step = batch.phoneSteps[phone]
                    step.app.withUnsafeBufferPointer { app in step.user.withUnsafeBufferPointer { engine.notePhone(app: app, contact: $0, step.note) } }
                    phone += 1
                } else {
                    engine.advance(to: ticks[tick].clock)
                    tick += 1
                }
            }
        }
    }
}
