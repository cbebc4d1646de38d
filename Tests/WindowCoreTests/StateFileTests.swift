import Testing
@testable import WindowCore

@Suite struct StateFileTests {
    static func sample() -> StateFile {
        var engine = EngineOptions()
        engine.setWarnLeads([7_200_000, 900_000])
        let windows = [
            SavedWindow(kind: .customerService, pmp: false, open: true, warnDone: 1, opened: 10, expires: 86_400_010, last: 10,
                        app: "APP", contact: "46", contactID: "C1", category: "", conversationID: ""),
            SavedWindow(kind: .conversation, pmp: false, open: false, warnDone: 2, opened: 5, expires: 86_400_005, last: 99_000_000,
                        app: "APP2", contact: "47", contactID: "", category: "MARKETING", conversationID: "abc"),
            SavedWindow(kind: .freeEntryPoint, pmp: true, open: true, warnDone: 0, opened: -3, expires: 259_199_997, last: -3,
                        app: "APP", contact: "ünï \"q\"", contactID: "x", category: "FREE_ENTRY_POINT", conversationID: ""),
        ]
        return StateFile(semantics: .init(engine: engine, mode: .event, lateness: 60_000), clock: 1_234, newest: 5_678, windows: windows)
    }

    @Test func roundTrip_keepsEveryKindAndWarningState() throws {
        let file = Self.sample()
        #expect(try StateFile.decode(file.encoded()) == file)
    }

    @Test func everyTruncation_isRefused() {
        let bytes = Self.sample().encoded()
        for n in 0..<bytes.count {
            #expect(throws: StateFile.LoadError.self, "prefix \(n)") { try StateFile.decode(Array(bytes[0..<n])) }
        }
    }

    @Test func everyFlippedByte_isRefused() {
        let bytes = Self.sample().encoded()
        for i in 0..<bytes.count {
            var bad = bytes
            bad[i] ^= 0x40
            #expect(throws: StateFile.LoadError.self, "byte \(i)") { try StateFile.decode(bad) }
        }
    }

    @Test func newerFormat_isRefusedWithAClearMessage() {
        var bytes = Self.sample().encoded()
        bytes[8] = 99
        do {
            _ = try StateFile.decode(bytes)
            Issue.record("accepted a newer format")
        } catch {
            #expect(error.description.contains("newer"))
        }
    }

    @Test func incompatibleOptions_areNamed() {
        let saved = Self.sample().semantics
        #expect(StateFile.incompatibility(saved: saved, current: saved) == nil)
        var other = saved
        other.engine.csw = 3_600_000
        other.mode = .wall
        let why = StateFile.incompatibility(saved: saved, current: other) ?? ""
        #expect(why.contains("--csw") && why.contains("--clock"))
    }
}

@Suite struct EngineRestoreTests {
    /// A stream cut anywhere, saved and restored (into fresh engines, re-split by contact),
    /// continues exactly like the uninterrupted run.
    @Test func restoredEngine_continuesLikeTheUninterruptedOne() {
        for seed in 0..<60 as Range<UInt64> {
            var rng = SplitMix64(seed: seed)
            var ops: [(Int, String, String, Double)] = []
            var t = 0.0
            for _ in 0..<120 {
                t += Double(rng.next() % 80) / 10
                ops.append((Int(rng.next() % 3), "c\(rng.next() % 5)", "id\(rng.next() % 3)-\(Int(t / 24))", t - Double(rng.next() % 40) / 10))
            }
            func run(_ h: inout EngineHarness, _ slice: ArraySlice<(Int, String, String, Double)>) {
                for (op, contact, id, when) in slice { EngineInvariantTests.apply(&h, op, contact, id, when) }
            }
            var whole = EngineHarness(warn: [2 * EngineHarness.hour, EngineHarness.hour], lateness: 4 * EngineHarness.hour)
            run(&whole, ops[...])
            whole.clock(t + 500)
            let cut = Int(rng.next() % UInt64(ops.count))
            var first = EngineHarness(warn: [2 * EngineHarness.hour, EngineHarness.hour], lateness: 4 * EngineHarness.hour)
            run(&first, ops[..<cut])
            var before = first.log
            // Through the file's bytes, as the pipeline does: image, encode, check, restore.
            let bytes = Array(StateFile.encode(semantics: .init(engine: first.engine.options, mode: .event, lateness: 0),
                                               clock: first.engine.clock, newest: 0,
                                               images: [first.engine.windowImage()]).joined())
            var second = EngineHarness(warn: [2 * EngineHarness.hour, EngineHarness.hour], lateness: 4 * EngineHarness.hour)
            bytes.withUnsafeBufferPointer { b in
                guard let h = try? StateFile.open(b) else { Issue.record("seed \(seed): file refused"); return }
                #expect(h.windowCount == first.engine.savedWindows().count)
                second.engine.restore(file: b, h, shard: 0, of: 1)
            }
            run(&second, ops[cut...])
            second.clock(t + 500)
            before += second.log
            #expect(before == whole.log, "seed \(seed) cut \(cut)")
        }
    }
}

@Suite struct StateFileImageTests {
    /// Shards intern app ids in their own order: the merged file gives every window its app.
    @Test func imagesWithDifferentAppTables_mergeIntoOneTable() throws {
        func window(_ app: String, _ contact: String) -> SavedWindow {
            SavedWindow(kind: .customerService, pmp: false, open: true, warnDone: 0, opened: 1, expires: 2, last: 1,
                        app: app, contact: contact, contactID: "", category: "", conversationID: "")
        }
        let a = [window("A", "1"), window("B", "2")], b = [window("B", "3"), window("C", "4"), window("A", "5")]
        let semantics = StateFile.Semantics(engine: EngineOptions(), mode: .event, lateness: 0)
        let bytes = Array(StateFile.encode(semantics: semantics, clock: 7, newest: 8, images: [WindowImage(a), WindowImage(b)]).joined())
        let file = try StateFile.decode(bytes)
        #expect(file.windows == a + b)
        #expect(file.clock == 7 && file.newest == 8)
    }

    /// The checksum fed in pieces of any sizes equals the checksum of the whole.
    @Test func checksumInPieces_equalsTheWholeChecksum() {
        var rng = SplitMix64(seed: 9)
        for _ in 0..<200 {
            let bytes = (0..<Int(rng.next() % 100)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let whole = bytes.withUnsafeBufferPointer { StateFile.checksum($0) }
            var sum = StateFile.Checksum()
            var i = 0
            while i < bytes.count {
                let n = min(Int(rng.next() % 11), bytes.count - i)
                bytes[i..<(i + n)].withUnsafeBytes { sum.add($0) }
                i += n
            }
            #expect(sum.value == whole, "\(bytes.count) bytes")
        }
    }
}
