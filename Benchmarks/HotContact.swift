import WindowCore

/// One contact with many conversation windows (a hostile or broken feed): the time per window
/// must stay flat from 1 k to 100 k windows of that contact, as it is for as many windows
/// spread over as many contacts.
enum HotContact {
    /// CBP delivered receipts, each with a new conversation id, for one contact or for as
    /// many contacts, all in one arena.
    static func inputs(windows n: Int, oneContact: Bool) -> (arena: [UInt8], inputs: [WindowInput]) {
        var arena: [UInt8] = []
        func put(_ s: String) -> ByteRange {
            let start = arena.count
            arena.append(contentsOf: s.utf8)
            return ByteRange(start: Int32(start), count: Int32(arena.count - start))
        }
        func bytes(_ r: ByteRange) -> UnsafeBufferPointer<UInt8> {
            arena.withUnsafeBufferPointer { UnsafeBufferPointer(rebasing: $0[Int(r.start)..<Int(r.start + r.count)]) }
        }
        let app = put("01EB37HMH1M6SV18BSNS3G135H")
        var inputs: [WindowInput] = []
        inputs.reserveCapacity(n)
        let start = Timestamp.parse("2025-03-01T00:00:00Z")!
        for k in 0..<n {
            let contact = put(oneContact ? "46732001122" : "4673\(1_000_000 + k)")
            let id = put("conv\(k)")
            let category = put("UTILITY")
            let hash = arena.withUnsafeBufferPointer { a in
                RoutingHash.contact(app: UnsafeBufferPointer(rebasing: a[Int(app.start)..<Int(app.start + app.count)]),
                                    contact: UnsafeBufferPointer(rebasing: a[Int(contact.start)..<Int(contact.start + contact.count)]))
            }
            let keyHash = arena.withUnsafeBufferPointer { a in
                RoutingHash.conversation(contactHash: hash, id: UnsafeBufferPointer(rebasing: a[Int(id.start)..<Int(id.start + id.count)]))
            }
            inputs.append(WindowInput(operation: .keyedReceipt, freeEntryPoint: false, time: start + Int64(k), contactHash: hash,
                                      app: app, contact: contact, category: category, conversationID: id, keyHash: keyHash))
        }
        return (arena, inputs)
    }

    static func run(runs: Int) {
        var perWindow: [(n: Int, hot: Double, spread: Double)] = []
        for n in [1_000, 10_000, 100_000] {
            var medians: [Double] = []
            for oneContact in [true, false] {
                let (arena, inputs) = inputs(windows: n, oneContact: oneContact)
                let m = measure("\(n) windows, \(oneContact ? "one contact" : "as many contacts")", unit: "windows", items: n, runs: runs) {
                    var engine = WindowEngine(options: EngineOptions())
                    var sink: UInt64 = 0
                    arena.withUnsafeBufferPointer { a in
                        for input in inputs {
                            engine.apply(input, in: a)
                            engine.advance(to: input.time)
                            sink &+= UInt64(engine.output.count)
                            engine.output.removeAll()
                        }
                        // Every window expires and is forgotten: taking them out is timed too.
                        engine.advance(to: inputs.last!.time + 10 * 86_400_000)
                        sink &+= UInt64(engine.output.count)
                    }
                    return sink
                }
                print(m.line)
                medians.append(m.median / Double(n) * 1e9)
            }
            perWindow.append((n, medians[0], medians[1]))
        }
        // Larger tables miss the caches more for both layouts alike; a contact's own list
        // growing would show as a ratio to the spread layout that grows with n.
        for row in perWindow {
            record("hot contact: ns per window, \(row.n) conversation windows of one contact",
                   "\(fmt(row.hot, 0)) ns, \(fmt(row.hot / row.spread, 2))x the spread layout",
                   "spread over as many contacts \(fmt(row.spread, 0)) ns")
        }
    }
}
