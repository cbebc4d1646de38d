import Testing
@testable import WindowCore

/// A customer service window keeps its expiry and heap due time as 32-bit gaps above its
/// opening (about 49.7 days); times further out live beside the table. These windows must
/// behave exactly like short ones.
@Suite struct FarServiceTimeTests {
    static let hour = EngineHarness.hour

    @Test func windowKeptOpenForSixtyDays_keepsItsOpeningAndFiresOnTime() {
        var h = EngineHarness(warn: [2 * Self.hour])
        var expected = ["opened cs 46 [0,24) @0"]
        h.message("46", at: 0)
        for k in 1...120 {
            let t = 12 * k
            h.message("46", at: Double(t))
            expected.append("updated cs 46 [0,\(t + 24)) @\(t)")
            // Past 49.7 days both the expiry and the live timer are kept beside the table.
            if t == 1300 { #expect(h.engine.farServiceTimes == 2) }
        }
        h.clock(1461)
        #expect(h.drain() == expected)
        h.clock(1462)
        h.clock(1464)
        #expect(h.drain() == ["expiring cs 46 [0,1464) @1462", "expired cs 46 [0,1464) @1464"])
        #expect(h.engine.farServiceTimes == 0)
        #expect(h.engine.contactCount == 0)
        // The contact's slot is reused by a new short window, with nothing left over.
        h.message("47", at: 1500)
        h.clock(1522)
        h.clock(1524)
        #expect(h.drain() == ["opened cs 47 [1500,1524) @1500", "expiring cs 47 [1500,1524) @1522", "expired cs 47 [1500,1524) @1524"])
        #expect(h.engine.farServiceTimes == 0)
    }

    @Test func windowsLongerThanTheGap_expireOnTime() {
        let day = 24 * Self.hour
        var h = EngineHarness(warn: [55 * day]) { $0.csw = 60 * day }
        h.message("46", at: 0)
        #expect(h.engine.farServiceTimes == 1)  // the expiry; the warning's due time fits
        h.message("47", at: 1)  // a contact added once the side table exists
        #expect(h.engine.farServiceTimes == 2)
        h.clock(119)
        #expect(h.drain() == ["opened cs 46 [0,1440) @0", "opened cs 47 [1,1441) @1"])
        h.clock(120)
        #expect(h.drain() == ["expiring cs 46 [0,1440) @120"])
        #expect(h.engine.farServiceTimes == 3)  // and now 46's timer at its expiry too
        h.clock(121)
        #expect(h.drain() == ["expiring cs 47 [1,1441) @121"])
        h.clock(1439)
        #expect(h.drain().isEmpty)
        h.clock(1440)
        h.clock(1441)
        #expect(h.drain() == ["expired cs 46 [0,1440) @1440", "expired cs 47 [1,1441) @1441"])
        #expect(h.engine.farServiceTimes == 0)
    }

    /// Gaps up to `largestGap` stay in place; the two values above it are markers (no timer,
    /// far), so such times must go beside the table and still fire exactly.
    @Test func gapsAtTheMarkers_stayExact() {
        for extra in 0...2 as ClosedRange<Int64> {
            let csw = Int64(ServiceWindow.largestGap) + extra
            var h = EngineHarness { $0.csw = csw }
            h.message("46", at: 0)
            #expect(h.engine.farServiceTimes == (extra == 0 ? 0 : 2), "gap + \(extra)")  // expiry and timer
            h.engine.advance(to: EngineHarness.base + csw - 1)
            #expect(h.engine.events.map(\.event.name) == ["window_opened"], "gap + \(extra)")
            h.engine.advance(to: EngineHarness.base + csw)
            #expect(h.engine.events.map(\.event.name) == ["window_opened", "window_expired"], "gap + \(extra)")
            #expect(h.engine.events.last?.expiresAt == EngineHarness.base + csw, "gap + \(extra)")
            #expect(h.engine.events.last?.dueAt == EngineHarness.base + csw, "gap + \(extra)")
        }
    }

    @Test func farTimes_surviveAStateFile() {
        let day = 24 * Self.hour
        func harness() -> EngineHarness { EngineHarness(warn: [Self.hour]) { $0.csw = 60 * day } }
        var first = harness()
        first.message("46", at: 0, contactID: "C1")
        first.message("46", at: 1, contactID: "C2")
        let bytes = StateFile.encode(semantics: .init(engine: first.engine.options, mode: .event, lateness: 0),
                                     clock: first.engine.clock, newest: 0, images: [first.engine.windowImage()]).bytes
        var second = harness()
        bytes.withUnsafeBufferPointer { b in
            guard let header = try? StateFile.open(b) else { Issue.record("file refused"); return }
            second.engine.restore(file: b, header, shard: 0, of: 1)
        }
        #expect(second.engine.farServiceTimes == 2)  // the expiry and the warning's timer
        second.clock(1440)
        second.clock(1441)
        #expect(second.drain() == ["expiring cs 46 [0,1441) @1440", "expired cs 46 [0,1441) @1441"])
        #expect(second.engine.events.isEmpty)
        #expect(second.engine.farServiceTimes == 0)
    }
}

extension WindowEngine {
    /// How many times of open customer service windows are kept beside the table.
    var farServiceTimes: Int {
        services.reduce(0) { n, v in
            guard v.present else { return n }
            return n + (v.expiresGap == ServiceWindow.far ? 1 : 0) + (v.heapGap == ServiceWindow.far ? 1 : 0)
        }
    }
}

@Suite struct WindowTableLayoutTests {
    /// The per-contact memory budget rests on these sizes: a customer service contact costs
    /// one `Contact` and one `ServiceWindow` (plus its strings, index entry and timer).
    @Test func tableEntries_keepTheirCompactSizes() {
        #expect(MemoryLayout<Contact>.stride + MemoryLayout<ServiceWindow>.stride == 36)
        #expect(MemoryLayout<Window>.stride == 40)
        #expect(MemoryLayout<KeyedPart>.stride == 24)
        #expect(MemoryLayout<NearEntry>.stride == 8)
        #expect(MemoryLayout<TextRef>.stride == 4)
    }
}
