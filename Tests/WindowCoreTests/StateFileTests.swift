import Foundation
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

    /// The windows in a stable order (a file stores them grouped by contact bucket).
    static func sorted(_ file: StateFile) -> StateFile {
        var f = file
        f.windows.sort { ($0.contact, $0.kind.rawValue, $0.conversationID) < ($1.contact, $1.kind.rawValue, $1.conversationID) }
        return f
    }

    /// `n` windows of every kind over `n / 3` contacts (a file with many buckets).
    static func large(_ n: Int) -> StateFile {
        var rng = SplitMix64(seed: 11)
        var windows: [SavedWindow] = []
        for i in 0..<n {
            let kind = WindowKind(rawValue: UInt8(i % 3))!
            windows.append(SavedWindow(kind: kind, pmp: kind == .freeEntryPoint, open: rng.next() % 4 != 0,
                                       warnDone: UInt8(rng.next() % 3), opened: Int64(i), expires: Int64(i) + 86_400_000,
                                       last: Int64(i), app: "APP\(rng.next() % 3)", contact: "4670\(i / 3)",
                                       contactID: "id\(i)", category: kind == .customerService ? "" : "MARKETING",
                                       conversationID: kind == .conversation ? "conv\(i)" : ""))
        }
        return StateFile(semantics: sample().semantics, clock: 99, newest: 100, windows: windows)
    }

    @Test func roundTrip_keepsEveryKindAndWarningState() throws {
        for file in [Self.sample(), Self.large(5_000)] {
            #expect(try Self.sorted(StateFile.decode(file.encoded())) == Self.sorted(file))
        }
    }

    /// A restore in parts (as the pipeline does it, dropping each part's pages after it)
    /// puts back exactly the windows of a restore from the whole file, whatever the number
    /// of parts; the parts are consecutive, whole buckets, and cover every record.
    @Test func restoreInParts_putsBackEveryWindowOnce() throws {
        let file = Self.large(5_000)
        let bytes = file.encoded()
        try bytes.withUnsafeBufferPointer { b in
            let h = try StateFile.open(b)
            for count in [1, 3, 16, 100_000] {
                let parts = StateFile.parts(b, h, count: count)
                #expect(parts.count <= count && parts.count >= min(count, 2))
                #expect(parts.first?.lowerBound == h.windowsStart && parts.last?.upperBound == h.windowsEnd)
                for (a, z) in zip(parts, parts.dropFirst()) { #expect(a.upperBound == z.lowerBound) }
                var restored: [SavedWindow] = []
                for shard in 0..<3 {
                    var engine = WindowEngine(options: file.semantics.engine)
                    engine.beginRestore(h, shards: 3)
                    for part in parts { engine.restore(file: b, h, records: part, shard: shard, of: 3) }
                    engine.finishRestore(clock: h.clock)
                    restored += engine.savedWindows()
                }
                // Closed customer service windows (which windowkeeper never writes) are skipped.
                var expected = file
                expected.windows.removeAll { $0.kind == .customerService && !$0.open }
                #expect(restored.count == expected.windows.count, "\(count) parts")
                #expect(Self.sorted(StateFile(semantics: file.semantics, clock: 99, newest: 100, windows: restored)) == Self.sorted(expected),
                        "\(count) parts")
            }
        }
    }

    /// A lookup by contact checks and reads one bucket, and finds exactly that contact's
    /// windows (and maybe others of its bucket, never fewer).
    @Test func contactLookup_findsEveryWindowOfTheContact() throws {
        let file = Self.large(5_000)
        let bytes = file.encoded()
        try bytes.withUnsafeBufferPointer { b in
            let h = try StateFile.openHeader(b)
            #expect(h.bucketBits > 2)
            for contact in Set(file.windows.map(\.contact)) {
                var found: [SavedWindow] = []
                try Array(contact.utf8).withUnsafeBufferPointer { c in
                    try StateFile.forEachWindow(b, h, contact: c) { v in
                        let w = SavedWindow(v, app: h.apps[v.app])
                        if w.contact == contact { found.append(w) }
                    }
                }
                #expect(found.map(\.contactID).sorted() == file.windows.filter { $0.contact == contact }.map(\.contactID).sorted())
            }
        }
    }

    /// A damaged bucket fails the whole-file check, and the lookups that read it; lookups
    /// that do not still answer.
    @Test func damagedBucket_failsLoadAndItsOwnLookupsOnly() throws {
        let file = Self.large(3_000)
        var bytes = file.encoded()
        let (h, range) = try bytes.withUnsafeBufferPointer { b in
            let h = try StateFile.openHeader(b)
            return (h, StateFile.bucketRange(b, h, 5))
        }
        bytes[range.lowerBound + range.count / 2] ^= 1
        #expect(throws: StateFile.LoadError.self) { try StateFile.decode(bytes) }
        let bits = h.bucketBits
        var damaged = 0, answered = 0
        bytes.withUnsafeBufferPointer { b in
            for contact in Set(file.windows.map(\.contact)) {
                // A lookup reads the contact's bucket under every app id of the file.
                let buckets = Set(h.apps.map { app in
                    Array(app.utf8).withUnsafeBufferPointer { a in
                        Array(contact.utf8).withUnsafeBufferPointer { StateFile.fineBucket(contactHash: RoutingHash.contact(app: a, contact: $0)) }
                    } >> (StateFile.maxBucketBits - bits)
                })
                do {
                    try Array(contact.utf8).withUnsafeBufferPointer { c in try StateFile.forEachWindow(b, h, contact: c) { _ in } }
                    #expect(!buckets.contains(5), "\(contact)")
                    answered += 1
                } catch {
                    #expect(buckets.contains(5), "\(contact)")
                    damaged += 1
                }
            }
        }
        #expect(damaged > 0 && answered > 0)
    }

    /// Every offset of the small sample; for a file of four buckets, every offset of the
    /// header and index and every 13th after (each check decodes the whole file).
    static func offsets(_ bytes: [UInt8]) -> [Int] {
        bytes.count < 2_000 ? Array(bytes.indices) : Array(0..<600) + Array(stride(from: 600, to: bytes.count, by: 13))
    }

    @Test func everyTruncation_isRefused() {
        for bytes in [Self.sample().encoded(), Self.large(700).encoded()] {
            for n in Self.offsets(bytes) {
                #expect(throws: StateFile.LoadError.self, "prefix \(n)") { try StateFile.decode(Array(bytes[0..<n])) }
            }
            #expect(throws: StateFile.LoadError.self) { try StateFile.decode(bytes + [0]) }
        }
    }

    @Test func everyFlippedByte_isRefused() {
        for bytes in [Self.sample().encoded(), Self.large(700).encoded()] {
            for i in Self.offsets(bytes) {
            var bad = bytes
                bad[i] ^= 0x40
                #expect(throws: StateFile.LoadError.self, "byte \(i)") { try StateFile.decode(bad) }
            }
        }
    }

    @Test func otherFormats_areRefusedWithAClearMessage() {
        for (version, word) in [(99, "newer"), (1, "earlier")] {
            var bytes = Self.sample().encoded()
            bytes[8] = UInt8(version)
            do {
                _ = try StateFile.decode(bytes)
                Issue.record("accepted format \(version)")
            } catch {
                #expect(error.description.contains(word))
            }
        }
    }

    @Test func incompatibleOptions_areNamed() {
        let saved = Self.sample().semantics
        #expect(StateFile.incompatibility(saved: saved, current: saved) == nil)
        var other = saved
        other.engine.pmpFrom = 0
        other.mode = .wall
        other.lateness += 1
        let why = StateFile.incompatibility(saved: saved, current: other) ?? ""
        #expect(why.contains("--pmp-from") && why.contains("--clock") && why.contains("--lateness"))
    }

    @Test func windowLengthsAndWarningLeads_mayChangeAcrossARestart() {
        let saved = Self.sample().semantics
        var other = saved
        other.engine.csw = 3_600_000
        other.engine.conversation = 7_200_000
        other.engine.fep = 10_800_000
        other.engine.setWarnLeads([1_800_000, 60_000])
        #expect(StateFile.incompatibility(saved: saved, current: other) == nil)
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
            let bytes = StateFile.encode(semantics: .init(engine: first.engine.options, mode: .event, lateness: 0),
                                         clock: first.engine.clock, newest: 0, images: [first.engine.windowImage()]).bytes
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
        let bytes = StateFile.encode(semantics: semantics, clock: 7, newest: 8, images: [WindowImage(a), WindowImage(b)]).bytes
        let file = try StateFile.decode(bytes)
        #expect(file.windows.sorted { $0.contact < $1.contact } == a + b)
        #expect(file.clock == 7 && file.newest == 8)
    }

    /// Images written to files (as periodic checkpoints take them) give the same file as
    /// images in memory, alone or mixed, with app tables to merge, long strings, and a read
    /// buffer far smaller than one bucket.
    @Test func spilledImages_giveTheSameFileAsImagesInMemory() throws {
        var rng = SplitMix64(seed: 4)
        var windows: [SavedWindow] = []
        for i in 0..<3_000 {
            let long = i % 97 == 0 ? String(repeating: "x", count: 5_000) : ""
            windows.append(SavedWindow(kind: i % 3 == 0 ? .customerService : .conversation, pmp: i % 5 == 0, open: i % 7 != 0,
                                       warnDone: UInt8(i % 2), opened: Int64(i), expires: Int64(i) + 86_400_000, last: Int64(i),
                                       app: "APP\(rng.next() % 6)", contact: "4670\(i)", contactID: "C\(i)" + long,
                                       category: i % 3 == 0 ? "" : "SERVICE", conversationID: i % 3 == 0 ? "" : "conv-\(i)"))
        }
        let semantics = StateFile.Semantics(engine: EngineOptions(), mode: .event, lateness: 0)
        let source = StateFile.encode(semantics: semantics, clock: 9, newest: 9, images: [WindowImage(windows)]).bytes
        var e0 = WindowEngine(options: EngineOptions()), e1 = WindowEngine(options: EngineOptions())
        try source.withUnsafeBufferPointer { b in
            let header = try StateFile.open(b)
            e0.restore(file: b, header, shard: 0, of: 2)
            e1.restore(file: b, header, shard: 1, of: 2)
        }
        let directory = FileManager.default.temporaryDirectory.path
        func spilled(_ e: borrowing WindowEngine) throws -> WindowImage {
            let file = try #require(SpillFile.create(in: directory))
            let made = e.windowImage(spillingTo: file)
            let image = try #require(made)
            #expect(image.records.isEmpty && file.size > 0)
            return image
        }
        let inMemory = StateFile.encode(semantics: semantics, clock: 9, newest: 9, images: [e0.windowImage(), e1.windowImage()]).bytes
        let kept = e0.savedWindows().count + e1.savedWindows().count  // closed customer service windows are not
        #expect(try StateFile.decode(inMemory).windows.count == kept && kept > 2_500)
        for images in [[try spilled(e0), try spilled(e1)], [e0.windowImage(), try spilled(e1)]] {
            for chunk in [4 << 20, 64, 1] {
                var file = StateFile.encode(semantics: semantics, clock: 9, newest: 9, images: images)
                file.readChunk = chunk
                #expect(!file.readFailed)
                #expect(file.bytes == inMemory, "read in \(chunk)-byte chunks")
            }
        }
    }

    /// The checksum fed in pieces of any sizes equals the checksum of the whole.
    @Test func checksumInPieces_equalsTheWholeChecksum() {
        var rng = SplitMix64(seed: 9)
        for _ in 0..<200 {
            let bytes = (0..<Int(rng.next() % 100)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let whole = bytes.withUnsafeBytes { StateFile.checksum($0, seed: 3) }
            var sum = StateFile.Checksum(seed: 3)
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

extension StateFileTests {
    /// Found by the state-file fuzz target (Tests/Fuzz/Targets/StateFileFuzz.swift): a bucket index
    /// whose ends go backwards, under valid checksums, trapped (`Range requires lowerBound <=
    /// upperBound`) before the check that refuses it. It is refused with a message now.
    @Test func bucketIndexGoingBackwards_isRefusedNotATrap() throws {
        var bytes = Self.large(600).encoded()
        let h = try bytes.withUnsafeBufferPointer { try StateFile.openHeader($0) }
        #expect(h.bucketBits >= 1)
        // Bucket 0 ends where the last one does: bucket 1 then ends before bucket 0.
        let total = UInt64(h.windowsEnd - h.windowsStart)
        for k in 0..<8 { bytes[h.indexStart + k] = UInt8(truncatingIfNeeded: total >> (8 * UInt64(k))) }
        let indexEnd = h.windowsStart - 8
        let sum = bytes.withUnsafeBytes { StateFile.checksum(UnsafeRawBufferPointer(rebasing: $0[h.indexStart..<indexEnd]), seed: 1) }
        for k in 0..<8 { bytes[indexEnd + k] = UInt8(truncatingIfNeeded: sum >> (8 * UInt64(k))) }
        #expect(throws: StateFile.LoadError("state file is corrupt (bucket index)")) { try StateFile.decode(bytes) }
        #expect(throws: StateFile.LoadError("state file is corrupt (bucket index)")) {
            try bytes.withUnsafeBufferPointer { try StateFile.openHeader($0) }
        }
    }
}
