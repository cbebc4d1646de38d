import Testing
@testable import WindowCore

@Suite struct TextStoreTests {
    static func add(_ strings: [[UInt8]], to store: inout TextStore) -> [TextRef] {
        strings.map { s in s.withUnsafeBytes { store.add($0) } }
    }

    /// Lengths around every prefix boundary (126, 127, 128, 16 383, 16 384) and ULID-like
    /// strings come back byte for byte, compare equal to themselves only, and their space is
    /// accounted as garbage when freed.
    @Test func everyString_comesBackAsStored() {
        var rng = SplitMix64(seed: 3)
        var strings: [[UInt8]] = []
        for n in [0, 1, 25, 26, 27, 125, 126, 127, 128, 129, 300, 16_383, 16_384, 16_385] {
            strings.append((0..<n).map { _ in UInt8(0x21 + rng.next() % 90) })
        }
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
        for _ in 0..<200 {
            var u = (0..<26).map { _ in alphabet[Int(rng.next() % 32)] }
            u[0] = alphabet[Int(rng.next() % 8)]
            strings.append(u)
            var near = u
            switch rng.next() % 4 {
            case 0: near[Int(rng.next() % 26)] = Array("ILOUa".utf8)[Int(rng.next() % 5)]
            case 1: near[0] = alphabet[8 + Int(rng.next() % 24)]
            case 2: near.removeLast()
            default: near.append(alphabet[0])
            }
            strings.append(near)
        }
        for packs in [false, true] {
            var store = TextStore(packsULIDs: packs)
            let refs = Self.add(strings, to: &store)
            for (s, r) in zip(strings, refs) {
                let back = Array(store.bytes(r))
                #expect(back == s)
                let same = s.withUnsafeBufferPointer { store.equals(r, $0) }
                #expect(same)
                var other = s
                if other.isEmpty { other = [0x41] } else { other[other.count - 1] ^= 1 }
                let differs = !other.withUnsafeBufferPointer { store.equals(r, $0) }
                #expect(differs)
            }
            for r in refs { store.free(r) }
            let live = store.liveBytes
            #expect(live == 1, "only the empty string at offset 0 is left (packs: \(packs))")
        }
    }

    /// A packed ULID takes 17 bytes, a plain one 27; anything else is never packed.
    @Test func ulids_arePackedOnlyWhenExact() {
        let ulid = Array("01EB37HMH1M6SV18BSNS3G135H".utf8)
        var packed = TextStore(packsULIDs: true), plain = TextStore()
        _ = Self.add([ulid], to: &packed)
        _ = Self.add([ulid], to: &plain)
        #expect(packed.liveBytes == 1 + 17)
        #expect(plain.liveBytes == 1 + 27)
        for s in ["01eb37hmh1m6sv18bsns3g135h", "81EB37HMH1M6SV18BSNS3G135H", "01EB37HMH1M6SV18BSNS3G135O", "01EB37HMH1M6SV18BSNS3G135"] {
            var store = TextStore(packsULIDs: true)
            _ = Self.add([Array(s.utf8)], to: &store)
            let live = store.liveBytes
            #expect(live == 1 + 1 + s.utf8.count, "\(s)")
        }
    }

    /// Compacting keeps every live string (packed or not) and drops the freed ones.
    @Test func compaction_keepsTheLiveStrings() {
        let strings = ["01EB37HMH1M6SV18BSNS3G135H", "abc", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", String(repeating: "x", count: 200)].map { Array($0.utf8) }
        var store = TextStore(packsULIDs: true)
        let refs = Self.add(strings + strings, to: &store)
        for r in refs[..<strings.count] { store.free(r) }
        var live = Array(refs[strings.count...])
        store.compact { move in for i in live.indices { live[i] = move(live[i]) } }
        let garbage = store.garbage
        #expect(garbage == 0)
        for (s, r) in zip(strings, live) {
            let back = Array(store.bytes(r))
            #expect(back == s)
        }
    }

    /// A store knows whether it ever held a string that JSON must escape (events skip the
    /// check while it did not); compacting forgets freed ones.
    @Test func holdsEscapes_isSetByAnyStringWithAQuoteBackslashOrControlByte() {
        for special: UInt8 in [0x22, 0x5C, 0x00, 0x0A, 0x1F] {
            for length in 1...20 {
                for at in 0..<length {
                    var bytes = [UInt8](repeating: 0x61, count: length)
                    bytes[at] = special
                    var store = TextStore()
                    _ = Self.add([Array("plain".utf8), [0xC3, 0xA9, 0x7F]], to: &store)
                    let before = store.holdsEscapes
                    _ = Self.add([bytes], to: &store)
                    let after = store.holdsEscapes
                    #expect(!before)
                    #expect(after, "byte \(special) at \(at) of \(length)")
                }
            }
        }
        var store = TextStore()
        let refs = Self.add([Array("a\"b".utf8), Array("ok".utf8)], to: &store)
        store.free(refs[0])
        var live = refs[1]
        store.compact { move in live = move(live) }
        let afterCompaction = store.holdsEscapes
        #expect(!afterCompaction)
        #expect(Array(store.bytes(live)) == Array("ok".utf8))
        // One that is still referenced keeps the store marked.
        var kept = TextStore()
        var quoted = Self.add([Array("a\"b".utf8)], to: &kept)[0]
        kept.compact { move in quoted = move(quoted) }
        let stillMarked = kept.holdsEscapes
        #expect(stillMarked)
        #expect(Array(kept.bytes(quoted)) == Array("a\"b".utf8))
    }
}
