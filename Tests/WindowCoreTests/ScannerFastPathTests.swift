import Foundation
import Testing
@testable import WindowCore

/// The word-at-a-time paths of the scanner, the unescaper and the encoder, at every offset
/// relative to their 8- and 16-byte steps, against plain references (Foundation's JSON parser,
/// byte loops, `String(radix:)`).
@Suite struct ScannerFastPathTests {
    /// A JSON string literal (with quotes) whose special byte sits at every offset.
    private func scan(_ literal: [UInt8]) -> (StringSpan?, pos: Int) {
        literal.withUnsafeBufferPointer { b in
            var s = JSONScanner(b)
            let span = s.scanString()
            return (span, s.pos)
        }
    }

    @Test func foldedSameBytes_agreesWithAByteLoopForEveryByteAtEveryPosition() {
        // The literals the decoder folds, plus lengths around every word boundary.
        var literals = PricingKey.names.map { Array(UnsafeBufferPointer(start: $0.utf8Start, count: $0.utf8CodeUnitCount)) }
        literals += [Array("cbp".utf8), Array("pmp".utf8), Array("a_".utf8)]
        literals += (1...19).map { n in (0..<n).map { UInt8(ascii: $0 % 5 == 4 ? "_" : "q") } }
        func fold(_ b: UInt8) -> UInt8 { (0x41...0x5A).contains(b) ? b + 0x20 : b }
        for literal in literals {
            var candidates = [literal, literal.map { $0 == 0x5F ? $0 : $0 - 0x20 }]
            // Every byte value at every position, so a wrong mask shows up somewhere.
            for position in literal.indices {
                for b in 0...255 {
                    var key = literal
                    key[position] = UInt8(b)
                    candidates.append(key)
                }
            }
            for key in candidates {
                let expected = zip(key, literal).allSatisfy { fold($0) == $1 }
                let got = key.withUnsafeBytes { k in
                    literal.withUnsafeBytes { JSONScanner.foldedSameBytes(k.baseAddress!, $0.baseAddress!, key.count) }
                }
                #expect(got.match == expected && got.exact == (expected && key == literal), "\(key) against \(literal)")
            }
        }
    }

    @Test func scanString_findsTheClosingQuoteAtEveryOffset() {
        for length in 0...48 {
            let body = Array(repeating: UInt8(ascii: "a"), count: length)
            let (span, pos) = scan([0x22] + body + [0x22] + Array("tail\"".utf8))
            #expect(span == StringSpan(start: 1, end: 1 + length, escaped: false), "length \(length)")
            #expect(pos == length + 2)
        }
    }

    @Test func scanString_rejectsAControlByteAtEveryOffset() {
        for length in 1...48 {
            for at in 0..<length {
                var body = Array(repeating: UInt8(ascii: "b"), count: length)
                body[at] = at % 2 == 0 ? 0x01 : 0x1F
                let (span, pos) = scan([0x22] + body + [0x22])
                #expect(span == nil, "length \(length), control at \(at)")
                #expect(pos == 1 + at, "the failure points at the control byte")
            }
        }
    }

    @Test func scanString_skipsEscapedQuotesAtEveryOffset() {
        for length in 0...40 {
            for at in 0...length {
                var body = Array(repeating: UInt8(ascii: "c"), count: length)
                body.insert(contentsOf: [0x5C, 0x22], at: at)
                let (span, _) = scan([0x22] + body + [0x22])
                #expect(span == StringSpan(start: 1, end: 1 + body.count, escaped: true), "length \(length), escape at \(at)")
            }
        }
    }

    @Test func scanString_bytesAbove0x7F_areNeverSpecial() {
        // 0xA2 and 0xDC share their low seven bits with '"' and '\\'.
        let body: [UInt8] = Array("é".utf8) + [0xC2, 0xA2] + Array(repeating: 0x41, count: 20) + [0xC3, 0x9C]
        let (span, _) = scan([0x22] + body + [0x22])
        #expect(span == StringSpan(start: 1, end: 1 + body.count, escaped: false))
    }

    /// Random strings with every kind of escape, decoded by Foundation as the reference.
    @Test func unescape_agreesWithFoundationOnRandomEscapes() throws {
        var rng = SplitMix64(seed: 42)
        let pieces: [String] = ["a", "Z", "0", " ", "é", "€", "😀", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
                                "\\u0041", "\\u00e9", "\\u20AC", "\\ud83d\\ude00", "\\u0000", "\\u001f"]
        for _ in 0..<2_000 {
            var raw = ""
            for _ in 0..<Int(rng.next() % 40) { raw += pieces[Int(rng.next() % UInt64(pieces.count))] }
            let json = "[\"" + raw + "\"]"
            let expected = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String]).first!
            let bytes = Array(raw.utf8)
            let span = StringSpan(start: 0, end: bytes.count, escaped: raw.contains("\\"))
            var viaArray: [UInt8] = []
            bytes.withUnsafeBufferPointer { JSONScanner.unescape($0, span, into: &viaArray) }
            let arena = ByteArena(capacity: 64)
            [UInt8](repeating: 0x2A, count: 3).withUnsafeBufferPointer { arena.append($0) }
            bytes.withUnsafeBufferPointer { JSONScanner.unescape($0, span, into: arena) }
            #expect(String(decoding: viaArray, as: UTF8.self) == expected, "\(raw.debugDescription)")
            #expect(Array(arena.array.dropFirst(3)) == viaArray)
        }
    }

    @Test func sameBytes_findsADifferenceAtEveryPositionOfEveryLength() {
        for n in 0...40 {
            let a = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
            a.withUnsafeBytes { pa in
                #expect(n == 0 || JSONScanner.sameBytes(pa.baseAddress!, pa.baseAddress!, n))
                for at in 0..<n {
                    var b = a
                    b[at] ^= 0x20
                    b.withUnsafeBytes { pb in #expect(!JSONScanner.sameBytes(pa.baseAddress!, pb.baseAddress!, n), "n \(n), at \(at)") }
                }
            }
        }
    }

    @Test func putBytes_copiesEveryLength() {
        for n in 0...100 {
            let src = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
            var out = ByteBuffer(capacity: 8)
            out.append("<")
            src.withUnsafeBytes { out.append($0) }
            out.append(">")
            #expect(out.array == [0x3C] + src + [0x3E], "n \(n)")
        }
    }

    @Test func hexDigits_matchStringFormatting() {
        var rng = SplitMix64(seed: 7)
        for v in [0, 1, 0xF, 0x10, 0x9, 0xA, UInt64.max, 0x0123_4567_89AB_CDEF] + (0..<1_000).map({ _ in rng.next() }) {
            var out = ByteBuffer(capacity: 8)
            EventEncoder.appendHex(v, &out)
            let expected = "\"" + String(repeating: "0", count: 16 - String(v, radix: 16).count) + String(v, radix: 16) + "\""
            #expect(String(decoding: out.array, as: UTF8.self) == expected)
        }
    }

    @Test func needsEscape_seesASpecialByteAtEveryOffset() {
        for n in 1...40 {
            for at in 0..<n {
                for special: UInt8 in [0x22, 0x5C, 0x00, 0x0A, 0x1F] {
                    var b = Array(repeating: UInt8(ascii: "x"), count: n)
                    b[at] = special
                    b.withUnsafeBytes { #expect(EventEncoder.needsEscape($0.baseAddress!, n), "n \(n), at \(at)") }
                }
            }
            let plain = Array(repeating: UInt8(0xE9), count: n) // high bytes are never escaped
            plain.withUnsafeBytes { #expect(!EventEncoder.needsEscape($0.baseAddress!, n)) }
        }
    }
}
