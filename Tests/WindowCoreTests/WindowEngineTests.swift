import Testing
@testable import WindowCore

@Suite struct CustomerServiceWindowTests {
    @Test func contactMessage_opensA24HourWindow() {
        var h = EngineHarness()
        h.message("46", at: 0)
        #expect(h.drain() == ["opened cs 46 [0,24) @0"])
        h.clock(24)
        #expect(h.drain() == ["expired cs 46 [0,24) @24"])
    }

    @Test func laterMessage_extendsTheWindow() {
        var h = EngineHarness()
        h.message("46", at: 0, contactID: "C1")
        h.message("46", at: 5, contactID: "C2")
        #expect(h.drain() == ["opened cs 46 [0,24) @0", "updated cs 46 [0,29) @5"])
        #expect(h.engine.events.isEmpty)
        h.clock(30)
        #expect(h.drain() == ["expired cs 46 [0,29) @29"])
    }

    @Test func earlierOrEqualMessage_changesNothing() {
        var h = EngineHarness(lateness: 10 * EngineHarness.hour)
        h.message("46", at: 5)
        h.message("46", at: 3)
        h.message("46", at: 5)
        #expect(h.drain() == ["opened cs 46 [5,29) @5"])
    }

    @Test func contactID_isReplacedByUpdatesButNotByEmpty() {
        var h = EngineHarness()
        h.message("46", at: 0, contactID: "C1")
        h.message("46", at: 1, contactID: "")
        h.message("46", at: 2, contactID: "C2")
        let ids = h.engine.events.map(\.contactID)
        #expect(ids == ["C1", "C1", "C2"])
    }

    @Test func messageAfterExpiryBeforeTheClock_expiresLazilyThenOpens() {
        // With 48 h lateness C stays behind, so the window is still open when t passes it.
        var h = EngineHarness(lateness: 48 * EngineHarness.hour)
        h.message("46", at: 0)
        h.message("46", at: 30)
        #expect(h.drain() == ["opened cs 46 [0,24) @0", "expired cs 46 [0,24) @24", "opened cs 46 [30,54) @30"])
    }

    @Test func windowAlreadyOverAtOpening_isLateAndSilent() {
        var h = EngineHarness()
        h.clock(100)
        h.message("46", at: 50)
        #expect(h.drain().isEmpty)
        #expect(h.engine.counters.late == 1)
        #expect(h.engine.contactCount == 0)
    }

    @Test func windowEndingExactlyAtTheClock_isLate() {
        var h = EngineHarness()
        h.clock(24)
        h.message("46", at: 0)
        #expect(h.drain().isEmpty)
        h.message("46", at: 0.5)
        #expect(h.drain() == ["opened cs 46 [0.5,24.5) @0.5"])
    }
}

@Suite struct ConversationWindowTests {
    @Test func cbpReceiptWithID_opensAConversationKeyedByID() {
        var h = EngineHarness()
        h.conversation("46", "a", at: 0, category: "SERVICE")
        h.conversation("46", "b", at: 1, category: "MARKETING")
        h.conversation("46", "a", at: 2)
        #expect(h.drain() == ["opened conv 46 a [0,24) @0", "opened conv 46 b [1,25) @1"])
        #expect(h.engine.counters.open == [0, 2, 0])
    }

    @Test func freeEntryPointReceipt_opens72Hours() {
        var h = EngineHarness()
        h.conversation("55", "f", at: 0, category: "FREE_ENTRY_POINT", fep: true)
        h.conversation("55", "f", at: 30)
        h.clock(72)
        #expect(h.drain() == ["opened fep 55 f [0,72) @0", "expired fep 55 f [0,72) @72"])
    }

    @Test func earlierDelivery_correctsOpenedAt() {
        var h = EngineHarness(lateness: 5 * EngineHarness.hour)
        h.conversation("46", "a", at: 3, contactID: "C1")
        h.conversation("46", "a", at: 1, contactID: "C2")
        let events = h.engine.events
        #expect(h.drain() == ["opened conv 46 a [3,27) @3", "updated conv 46 a [1,25) @1"])
        #expect(events.map(\.contactID) == ["C1", "C2"])
    }

    @Test func kindAndCategory_stayAsOpened() {
        var h = EngineHarness(lateness: 5 * EngineHarness.hour)
        h.conversation("46", "a", at: 3, category: "UTILITY")
        h.conversation("46", "a", at: 1, category: "FREE_ENTRY_POINT", fep: true)
        #expect(h.engine.events.map(\.category) == ["UTILITY", "UTILITY"])
        #expect(h.drain() == ["opened conv 46 a [3,27) @3", "updated conv 46 a [1,25) @1"])
    }

    @Test func correctionToBeforeTheClock_updatesThenExpiresAtOnce() {
        var h = EngineHarness(lateness: 30 * EngineHarness.hour)
        h.conversation("46", "a", at: 40)
        h.conversation("X", "z", at: 60)  // C = 30
        h.conversation("46", "a", at: 5)  // would expire at 29 ≤ C
        #expect(h.drain() == ["opened conv 46 a [40,64) @40", "opened conv X z [60,84) @60",
                              "updated conv 46 a [5,29) @5", "expired conv 46 a [5,29) @29"])
    }

    @Test func receiptOfRememberedWindow_belongsAndOpensNothing() {
        var h = EngineHarness()
        h.conversation("46", "a", at: 0)
        h.clock(30)
        h.conversation("46", "a", at: 20)
        h.conversation("46", "a", at: 31)  // after expiry, still remembered: belongs
        #expect(h.drain() == ["opened conv 46 a [0,24) @0", "expired conv 46 a [0,24) @24"])
    }

    @Test func rememberedWindow_isForgottenAtLastPlusLength() {
        var h = EngineHarness()
        h.conversation("46", "a", at: 0)
        h.conversation("46", "a", at: 10)  // last = 10, so memory runs to max(24, 10) + 24 = 48
        h.clock(47.9)
        #expect(h.engine.contactCount == 1)
        h.clock(48)
        #expect(h.engine.contactCount == 0)
        h.conversation("46", "a", at: 49)
        #expect(h.drain() == ["opened conv 46 a [0,24) @0", "expired conv 46 a [0,24) @24", "opened conv 46 a [49,73) @49"])
    }

    @Test func belongingReceiptAfterExpiry_extendsMemory() {
        var h = EngineHarness()
        h.conversation("46", "a", at: 0)
        h.conversation("46", "a", at: 40)  // belongs to the remembered window: last = 40 → forget at 64
        h.clock(63)
        h.conversation("46", "a", at: 63.5)
        #expect(h.drain() == ["opened conv 46 a [0,24) @0", "expired conv 46 a [0,24) @24"])
    }

    @Test func lateWindow_isRememberedSoItsRepeatsStaySilent() {
        var h = EngineHarness()
        h.clock(100)
        h.conversation("46", "a", at: 70)  // [70, 94) ≤ C: late, remembered to 118
        h.conversation("46", "a", at: 95)  // belongs: nothing
        #expect(h.drain().isEmpty)
        #expect(h.engine.counters.late == 1)
        #expect(h.engine.counters.remembered == 1)
    }

    @Test func eventsOfOnePass_areOrderedByDueThenKindThenModelThenID() {
        var h = EngineHarness(lateness: 100 * EngineHarness.hour)
        h.conversation("46", "b", at: 0)
        h.conversation("46", "a", at: 0)
        h.message("46", at: 0)
        h.pmpEntry("46", at: -48)
        h.conversation("46", "c", at: -48, fep: true)
        _ = h.drain()
        h.clock(24)
        #expect(h.drain() == ["expired cs 46 [0,24) @24", "expired conv 46 a [0,24) @24", "expired conv 46 b [0,24) @24",
                              "expired fep 46 c [-48,24) @24", "expired fep-pmp 46 [-48,24) @24"])
    }
}

@Suite struct PMPFreeEntryPointTests {
    @Test func pmpEntry_opensOnePerContact() {
        var h = EngineHarness()
        h.pmpEntry("46", at: 0, id: "x", category: "FREE_ENTRY_POINT")
        h.pmpEntry("46", at: 10, id: "y")
        #expect(h.drain() == ["opened fep-pmp 46 x [0,72) @0"])
        #expect(h.engine.events.isEmpty)
    }

    @Test func pmpEntryAfterExpiry_opensANewWindow() {
        var h = EngineHarness()
        h.pmpEntry("46", at: 0)
        h.pmpEntry("46", at: 80)
        #expect(h.drain() == ["opened fep-pmp 46 [0,72) @0", "expired fep-pmp 46 [0,72) @72", "opened fep-pmp 46 [80,152) @80"])
    }

    @Test func pmpEntryPastAnOpenWindowBeforeTheClock_expiresItLazily() {
        var h = EngineHarness(lateness: 100 * EngineHarness.hour)
        h.pmpEntry("46", at: 0)
        h.pmpEntry("46", at: 72)
        #expect(h.drain() == ["opened fep-pmp 46 [0,72) @0", "expired fep-pmp 46 [0,72) @72", "opened fep-pmp 46 [72,144) @72"])
    }

    @Test func stragglerBeforeAWindow_isLate() {
        var h = EngineHarness(lateness: 100 * EngineHarness.hour)
        h.pmpEntry("46", at: 10)
        h.pmpEntry("46", at: 5)
        #expect(h.drain() == ["opened fep-pmp 46 [10,82) @10"])
        #expect(h.engine.counters.late == 1)
    }

    @Test func cbpFreeEntryWindow_alsoContainsPMPReceipts() {
        var h = EngineHarness()
        h.conversation("46", "f", at: 0, fep: true)
        h.pmpEntry("46", at: 10)
        #expect(h.drain() == ["opened fep 46 f [0,72) @0"])
        // At 72 the CBP window is not expired lazily (only an open PMP one is): the PMP
        // window opens in step 3, and the CBP one expires when the clock reaches 72 in step 5.
        h.pmpEntry("46", at: 72)
        #expect(h.drain() == ["opened fep-pmp 46 [72,144) @72", "expired fep 46 f [0,72) @72"])
    }

    @Test func rememberedPMPWindow_keepsItsRepeatsSilent() {
        var h = EngineHarness()
        h.pmpEntry("46", at: 0)
        h.clock(100)
        h.pmpEntry("46", at: 0)
        h.pmpEntry("46", at: 71)
        #expect(h.drain() == ["opened fep-pmp 46 [0,72) @0", "expired fep-pmp 46 [0,72) @72"])
        h.clock(144)
        #expect(h.engine.contactCount == 0)
    }

    @Test func lateOpening_isRememberedAsExpired() {
        var h = EngineHarness()
        h.clock(200)
        h.pmpEntry("46", at: 100)
        h.pmpEntry("46", at: 150)
        #expect(h.drain().isEmpty)
        #expect(h.engine.counters.late == 1)
    }
}

@Suite struct WarningTests {
    static let hour = EngineHarness.hour

    @Test func eachLead_firesOnceInDueOrder() {
        var h = EngineHarness(warn: [2 * Self.hour, Self.hour])
        h.message("46", at: 0)
        h.clock(22)
        h.clock(23)
        h.clock(24)
        #expect(h.drain() == ["opened cs 46 [0,24) @0", "expiring cs 46 [0,24) @22", "expiring cs 46 [0,24) @23", "expired cs 46 [0,24) @24"])
        #expect(h.engine.events.isEmpty)
    }

    @Test func severalLeadsDueInOnePass_emitOnlyTheSmallest() {
        var h = EngineHarness(warn: [2 * Self.hour, Self.hour])
        h.message("46", at: 0)
        h.clock(23.5)
        let events = h.engine.events
        #expect(h.drain() == ["opened cs 46 [0,24) @0", "expiring cs 46 [0,24) @23"])
        #expect(events.last?.lead == Self.hour)
        h.clock(24)
        #expect(h.drain() == ["expired cs 46 [0,24) @24"])
    }

    @Test func expiryDueWithWarnings_dropsTheWarnings() {
        var h = EngineHarness(warn: [Self.hour])
        h.message("46", at: 0)
        h.clock(30)
        #expect(h.drain() == ["opened cs 46 [0,24) @0", "expired cs 46 [0,24) @24"])
    }

    @Test func update_rearmsWarningsForTheNewExpiry() {
        var h = EngineHarness(warn: [Self.hour])
        h.message("46", at: 0)
        h.clock(23.5)
        h.message("46", at: 23.6)
        h.clock(47)
        #expect(h.drain() == ["opened cs 46 [0,24) @0", "expiring cs 46 [0,24) @23", "updated cs 46 [0,47.6) @23.6", "expiring cs 46 [0,47.6) @46.6"])
    }

    @Test func leadLongerThanTheWindow_firesRightAfterOpening() {
        var h = EngineHarness(warn: [30 * Self.hour])
        h.message("46", at: 0)
        #expect(h.drain() == ["opened cs 46 [0,24) @0", "expiring cs 46 [0,24) @-6"])
    }

    @Test func remainingSeconds_isTheLead() {
        var h = EngineHarness(warn: [90_000])
        h.message("46", at: 0)
        h.clock(23.99)
        #expect(h.engine.events.first { $0.event == .expiring }?.lead == 90_000)
        #expect(String(decoding: h.engine.events[1].encoded, as: UTF8.self).contains("\"remaining_s\":90,"))
    }
}

@Suite struct EngineInvariantTests {
    /// A random stream of records over few contacts and ids, with lateness so that records
    /// arrive out of order; the clock ends far beyond every window.
    static func randomRun(seed: UInt64, repeats: Bool, compactAlways: Bool = false) -> [String] {
        var rng = SplitMix64(seed: seed)
        var h = EngineHarness(warn: [2 * EngineHarness.hour, EngineHarness.hour], lateness: 6 * EngineHarness.hour)
        if compactAlways {
            h.engine.text.compactionFloor = -1
            h.engine.contactIDs.compactionFloor = -1
        }
        var t = 0.0
        var history: [(Int, String, String, Double)] = []
        for _ in 0..<150 {
            t += Double(rng.next() % 100) / 10
            let contact = "c\(rng.next() % 4)"
            let when = t - Double(rng.next() % 50) / 10
            let op = Int(rng.next() % 3)
            let id = "id\(rng.next() % 3)-\(Int(when / 24))"
            history.append((op, contact, id, when))
            apply(&h, op, contact, id, when)
            let redeliver = rng.next() % 4 == 0, pick = Int(rng.next() % UInt64(history.count))
            let old = history[pick]
            if repeats, redeliver, t - old.3 < 20 {
                // An at-least-once redelivery of an earlier line, within one window length.
                apply(&h, old.0, old.1, old.2, old.3)
            }
        }
        h.clock(t + 1_000)
        if compactAlways { #expect(h.engine.textCompactions > 0, "seed \(seed)") }
        return h.drain()
    }

    static func apply(_ h: inout EngineHarness, _ op: Int, _ contact: String, _ id: String, _ t: Double) {
        switch op {
        case 0: h.message(contact, at: t, contactID: "K-\(contact)-\(Int(t))")
        case 1: h.conversation(contact, id, at: t, fep: id.hasPrefix("id2"))
        default: h.pmpEntry(contact, at: t)
        }
    }

    /// The feed bytes of a random stream whose records carry contact ids that are ULIDs
    /// (which the engine stores packed), almost-ULIDs (lower case, a letter Crockford leaves
    /// out, a first character above 7, one character more or less) and short ids, changing
    /// from record to record; `packs: false` stores them all as plain bytes.
    static func feedWithContactIDs(seed: UInt64, packs: Bool, compactAlways: Bool = false) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        var h = EngineHarness(warn: [2 * EngineHarness.hour, EngineHarness.hour], lateness: 6 * EngineHarness.hour)
        h.engine.contactIDs = TextStore(packsULIDs: packs)
        if compactAlways { h.engine.contactIDs.compactionFloor = -1 }
        let ids = ["01EB37HMH1M6SV18BSNS3G135H", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "00000000000000000000000000",
                   "01eb37hmh1m6sv18bsns3g135h", "01EB37HMH1M6SV18BSNS3G135I", "81EB37HMH1M6SV18BSNS3G135H",
                   "01EB37HMH1M6SV18BSNS3G135", "01EB37HMH1M6SV18BSNS3G135HX", "K-1", ""]
        var t = 0.0
        for _ in 0..<150 {
            t += Double(rng.next() % 100) / 10
            let contact = "c\(rng.next() % 4)", when = t - Double(rng.next() % 50) / 10
            let contactID = ids[Int(rng.next() % UInt64(ids.count))]
            switch rng.next() % 3 {
            case 0: h.message(contact, at: when, contactID: contactID)
            case 1: h.conversation(contact, "id\(rng.next() % 3)", at: when, contactID: contactID)
            default: h.pmpEntry(contact, at: when)
            }
        }
        h.clock(t + 1_000)
        let matches = h.outputMatchesEvents
        #expect(matches)
        return h.engine.output.array
    }

    @Test func packedContactIDs_giveTheSameFeedAsPlainOnes() {
        var withULID = 0
        for seed in 0..<200 as Range<UInt64> {
            let plain = Self.feedWithContactIDs(seed: seed, packs: false)
            #expect(Self.feedWithContactIDs(seed: seed, packs: true) == plain, "seed \(seed)")
            #expect(Self.feedWithContactIDs(seed: seed, packs: true, compactAlways: true) == plain, "seed \(seed), compacting")
            if String(decoding: plain, as: UTF8.self).contains("\"contact_id\":\"01EB37HMH1M6SV18BSNS3G135H\"") { withULID += 1 }
        }
        #expect(withULID > 100, "ULID contact ids reach the feed")
    }

    @Test func everyOpenedWindow_expiresExactlyOnce() {
        for seed in 0..<200 as Range<UInt64> {
            let log = Self.randomRun(seed: seed, repeats: false)
            var open: [String: Int] = [:]
            for line in log {
                let parts = line.split(separator: " ")
                let key = parts[1...2].joined(separator: " ") + (parts[1] == "conv" || parts[1] == "fep" ? " " + parts[3] : "")
                switch parts[0] {
                case "opened": open[key, default: 0] += 1
                case "expired": open[key, default: 0] -= 1
                default: break
                }
                #expect((open[key] ?? 0) >= 0 && (open[key] ?? 0) <= 1, "seed \(seed): \(line)")
            }
            #expect(open.values.allSatisfy { $0 == 0 }, "seed \(seed)")
        }
    }

    @Test func compactingTheStrings_changesNothing() {
        // Compaction whenever garbage outweighs the live strings moves every string many times.
        for seed in 0..<100 as Range<UInt64> {
            #expect(Self.randomRun(seed: seed, repeats: true, compactAlways: true) == Self.randomRun(seed: seed, repeats: true),
                    "seed \(seed)")
        }
    }

    @Test func redeliveredRecords_changeNothing() {
        for seed in 0..<200 as Range<UInt64> {
            #expect(Self.randomRun(seed: seed, repeats: true) == Self.randomRun(seed: seed, repeats: false), "seed \(seed)")
        }
    }
}

@Suite struct LargeFiringPassTests {
    static let hour = EngineHarness.hour

    /// Many windows with shared due times, all of whose timers wait for the clock (lateness
    /// holds it back): a later clock jump makes one large pass, like a restart after a stop.
    static func loaded(pieceSize: Int) -> EngineHarness {
        var h = EngineHarness(warn: [2 * hour, hour], lateness: 10_000 * hour)
        h.engine.pass.pieceSize = pieceSize
        for i in 0..<3_000 {
            let t = Double(i % 50) * 0.25
            h.message("c\(i)", at: t)
            h.conversation("c\(i)", "conv\(i % 7)", at: t + 0.25 * Double(i % 3), category: "MARKETING")
            if i % 5 == 0 { h.pmpEntry("c\(i)", at: t + 1) }
        }
        _ = h.drain()
        return h
    }

    /// A pass far larger than its piece size is put out piece by piece (drained as it goes)
    /// and still comes out byte for byte as the same pass put out in one piece: expiries,
    /// warnings, ties of due time across kinds and contacts, forgetting.
    @Test func largePass_putOutInPieces_equalsThePassInOnePiece() {
        var pieced = Self.loaded(pieceSize: 64)
        var whole = Self.loaded(pieceSize: .max)
        var drained: [UInt8] = []
        var drains = 0
        pieced.engine.drain = { drained.append(contentsOf: $0); drains += 1 }
        // Hour 30: every window opened before hour 6 has expired, the rest are warned; 400: all over.
        for t in [30.0, 400] {
            pieced.clock(t)
            whole.clock(t)
            drained.append(contentsOf: pieced.engine.output.array)
            pieced.engine.output.removeAll()
        }
        let matches = whole.outputMatchesEvents
        #expect(matches)
        let reference = whole.engine.output.array
        #expect(whole.engine.events.count > 5_000)
        #expect(Set(whole.engine.events.map(\.event)) == [.expiring, .expired])
        // A few drains come from passes that end with more than `drainBytes`; the rest are pieces.
        #expect(drains > 30, "\(drains) drains")
        let same = drained == reference
        #expect(same, "\(drained.count) bytes in pieces, \(reference.count) in one; first difference at \(zip(drained, reference).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(drained.count, reference.count))")
        #expect(pieced.engine.events == whole.engine.events)
        let left = (pieced.engine.contactCount, whole.engine.contactCount)
        #expect(left == (0, 0))
    }

    /// Small passes whose output the caller does not take (one batch sweeping many due
    /// times) reach `drain` in blocks of at least `drainBytes`, in order, and nothing else.
    @Test func manySmallPasses_drainTheirOutputOnceItIsLarge() {
        var drained = Self.loaded(pieceSize: .max)
        var kept = Self.loaded(pieceSize: .max)
        var blocks: [[UInt8]] = []
        drained.engine.drain = { blocks.append(Array($0)) }
        var t = 0.0
        while t <= 400 {
            drained.clock(t)
            kept.clock(t)
            t += 0.25
        }
        let reference = kept.engine.output.array
        #expect(reference.count > 2 * WindowEngine.drainBytes)
        #expect(blocks.count >= 2)
        #expect(blocks.allSatisfy { $0.count >= WindowEngine.drainBytes && $0.last == UInt8(ascii: "\n") })
        #expect(drained.engine.output.count < WindowEngine.drainBytes)
        let same = blocks.joined() + drained.engine.output.array == reference
        #expect(same)
    }
}
