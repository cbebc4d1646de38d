import Testing
@testable import WindowCore

@Suite struct LineFramerTests {
    enum Piece: Equatable {
        case line([UInt8])
        case long([UInt8], valid: Bool)
    }

    /// Feeds `input` in chunks of `chunk` bytes and collects what comes out.
    static func frame(_ input: [UInt8], chunk: Int, max: Int) -> [Piece] {
        var framer = LineFramer(maxLineBytes: max)
        var out: [Piece] = []
        var long: [UInt8] = []
        let sink: (FramedPiece) -> Void = { piece in
            switch piece {
            case .line(let b): out.append(.line(Array(b)))
            case .longPart(let b): long.append(contentsOf: b)
            case .longEnd(let valid): out.append(.long(long, valid: valid)); long = []
            }
        }
        var i = 0
        while i < input.count {
            let end = min(input.count, i + chunk)
            input[i..<end].withUnsafeBufferPointer { framer.feed($0, sink) }
            i = end
        }
        framer.finish(sink)
        return out
    }

    /// The model: split on "\n", drop the empty tail after a final "\n".
    static func model(_ input: [UInt8], max: Int) -> [Piece] {
        var parts = input.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if parts.last == [] { parts.removeLast() }
        return parts.map { p in
            p.count > max ? .long(p, valid: p.withUnsafeBufferPointer { UTF8Validator.isValid($0) }) : .line(p)
        }
    }

    @Test func feed_everyChunkSize_matchesSplit() {
        let text = "{\"a\":1}\n\nsecond line\r\n" + String(repeating: "x", count: 40) + "\nlast without newline"
        let input = Array(text.utf8)
        for chunk in 1...input.count + 1 {
            #expect(LineFramerTests.frame(input, chunk: chunk, max: 30) == Self.model(input, max: 30), "chunk size \(chunk)")
        }
    }

    @Test func feed_randomStreams_matchSplitForManySeeds() {
        for seed in 0..<300 {
            var rng = SplitMix64(seed: UInt64(seed))
            let n = Int(rng.next() % 300)
            let alphabet: [UInt8] = [0x0A, 0x61, 0x62, 0x0D, 0xC3, 0xA9, 0xFF]
            let input = (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            let max = Int(rng.next() % 20) + 1
            let chunk = Int(rng.next() % 17) + 1
            #expect(LineFramerTests.frame(input, chunk: chunk, max: max) == Self.model(input, max: max), "seed \(seed)")
        }
    }

    @Test func feed_lineOfExactlyMaxBytes_isALine() {
        let input = Array("abcde\nabcdef\n".utf8)
        #expect(LineFramerTests.frame(input, chunk: 3, max: 5) == [.line(Array("abcde".utf8)), .long(Array("abcdef".utf8), valid: true)])
    }

    @Test func feed_emptyInput_givesNothing() {
        #expect(LineFramerTests.frame([], chunk: 4, max: 10) == [])
    }
}

@Suite struct UTF8ValidatorTests {
    @Test func isValid_agreesWithTheStandardLibraryOnRandomBytes() {
        var rng = SplitMix64(seed: 7)
        let interesting: [UInt8] = [0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xA0, 0xED, 0x9F, 0xEF,
                                    0xF0, 0x90, 0xF4, 0x8F, 0xF5, 0xFF]
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 12)
            let bytes = (0..<n).map { _ in interesting[Int(rng.next() % UInt64(interesting.count))] }
            let expected = String(validating: bytes, as: UTF8.self) != nil
            let streamed: Bool = {
                var v = UTF8Validator()
                for b in bytes { [b].withUnsafeBufferPointer { v.feed($0) } }
                return v.finish()
            }()
            #expect(bytes.withUnsafeBufferPointer { UTF8Validator.isValid($0) } == expected, "\(bytes)")
            #expect(streamed == expected, "\(bytes)")
        }
    }

    @Test func isValid_rejectsSurrogatesOverlongsAndTruncation() {
        for bad: [UInt8] in [[0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            #expect(!bad.withUnsafeBufferPointer { UTF8Validator.isValid($0) })
        }
        #expect(Array("héllo ✓ 𝄞".utf8).withUnsafeBufferPointer { UTF8Validator.isValid($0) })
    }
}

@Suite struct TimerHeapTests {
    @Test func bulkLoadThenHeapify_popsInDueOrder() {
        for seed in 0..<100 as Range<UInt64> {
            var rng = SplitMix64(seed: seed)
            var heap = TimerHeap()
            var model: [Int64] = []
            for k in 0..<Int(rng.next() % 200) {
                // Odd seeds: due times centuries apart (near and far heap both loaded).
                let due = seed % 2 == 0 ? Int64(rng.next() % 50) : Int64(rng.next() >> 20) - (1 << 43)
                heap.appendUnordered(TimerEntry(due: due, slot: Int32(k)))
                model.append(due)
            }
            heap.heapify()
            var popped: [Int64] = []
            while let e = heap.pop() { popped.append(e.due) }
            #expect(popped == model.sorted(), "seed \(seed)")
        }
    }

    /// A clock that runs for three years with timers a few days ahead of it (as a shard's
    /// are): the base keeps up, so every timer stays in the compact near heap, and timers
    /// come out in due order.
    @Test func timersAheadOfAMovingClock_stayNear_andPopInOrder() {
        let day: Int64 = 86_400_000, start: Int64 = 1_700_000_000_000
        var rng = SplitMix64(seed: 7)
        var heap = TimerHeap()
        var pending: [Int64] = []
        var clock = start
        var maxFar = 0
        for _ in 0..<30_000 {
            clock += Int64(rng.next() % UInt64(day / 10))
            let due = clock + Int64(rng.next() % UInt64(3 * day))
            heap.push(TimerEntry(due: due, slot: 0))
            pending.append(due)
            pending.sort()
            while let top = heap.top, top.due <= clock {
                #expect(heap.pop()?.due == pending.removeFirst())
            }
            maxFar = max(maxFar, heap.farCount)
        }
        #expect(clock - start > 3 * 365 * day)
        #expect(heap.count == pending.count)
        #expect(maxFar == 0, "timers within days of the clock all fit the near heap")
    }

    /// Two steps in three push a timer due at `due(&rng)`, the third pops; every pop and the
    /// final drain are checked against a sorted-array model.
    static func checkAgainstModel(seed: UInt64, steps: Int, due: (inout SplitMix64) -> Int64) {
        var rng = SplitMix64(seed: seed)
        var heap = TimerHeap()
        var model: [Int64] = []
        for step in 0..<steps {
            if rng.next() % 3 != 0 {
                let d = due(&rng)
                heap.push(TimerEntry(due: d, slot: Int32(step)))
                model.append(d)
            } else if let top = heap.pop() {
                model.sort()
                #expect(top.due == model.removeFirst(), "seed \(seed) step \(step)")
            } else {
                #expect(model.isEmpty)
            }
            #expect(heap.count == model.count)
        }
        model.sort()
        var drained: [Int64] = []
        while let e = heap.pop() { drained.append(e.due) }
        #expect(drained == model, "seed \(seed)")
    }

    @Test func popOrder_matchesASortedArrayModelForManySeeds() {
        for seed in 0..<500 as Range<UInt64> {
            Self.checkAgainstModel(seed: seed, steps: 200) { Int64($0.next() % 1_000) }
        }
    }

    /// Due times scattered over ±30 years: most cannot share one 49-day span, so both the
    /// near and the far heap and every kind of base move are exercised.
    @Test func popOrder_matchesTheModel_forDueTimesFarApart() {
        let year: Int64 = 365 * 86_400_000
        for seed in 0..<300 as Range<UInt64> {
            let spread: Int64 = [1_000, 40 * 86_400_000, 30 * year][Int(seed % 3)]
            var pick = SplitMix64(seed: seed &+ 1_000)
            let centre = Int64(pick.next() % UInt64(60 * year)) - 30 * year
            Self.checkAgainstModel(seed: seed, steps: 300) { centre + Int64($0.next() % UInt64(2 * spread)) - spread }
        }
    }
}

/// A byte-order mark is dropped at the very start of the stream only.
extension LineFramerTests {
    @Test func byteOrderMark_atTheVeryStart_isDropped_inEveryChunking() {
        let body = Array("{\"a\":1}\n{\"b\":2}\n".utf8)
        let expected: [Piece] = [.line(Array("{\"a\":1}".utf8)), .line(Array("{\"b\":2}".utf8))]
        for chunk in 1...8 {
            #expect(LineFramerTests.frame([0xEF, 0xBB, 0xBF] + body, chunk: chunk, max: 100) == expected)
        }
    }

    @Test func byteOrderMark_elsewhere_orIncomplete_staysContent() {
        let second: [UInt8] = Array("x\n".utf8) + [0xEF, 0xBB, 0xBF] + Array("y\n".utf8)
        let partial: [UInt8] = [0xEF, 0xBB] + Array("z\n".utf8)
        let onlyPart: [UInt8] = [0xEF, 0xBB]
        for chunk in 1...4 {
            #expect(LineFramerTests.frame(second, chunk: chunk, max: 100) == [.line(Array("x".utf8)), .line([0xEF, 0xBB, 0xBF] + Array("y".utf8))])
            #expect(LineFramerTests.frame(partial, chunk: chunk, max: 100) == [.line([0xEF, 0xBB] + Array("z".utf8))])
            #expect(LineFramerTests.frame(onlyPart, chunk: chunk, max: 100) == [.line([0xEF, 0xBB])])
            #expect(LineFramerTests.frame([0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF, 0x0A], chunk: chunk, max: 100) == [.line([0xEF, 0xBB, 0xBF])])
        }
    }
}
