import Testing
@testable import WindowCore

/// The SIMD byte masks against the portable ones and a byte loop, and the scanners that use
/// them (string scan, value skip, UTF-8 check) run with each kernel on the same bytes, at every
/// offset around the 16- and 64-byte blocks.
@Suite struct ByteMaskTests {
    /// Bit i set where `property` holds for byte i.
    private func reference(_ bytes: ArraySlice<UInt8>, _ property: (UInt8) -> Bool) -> UInt64 {
        var m: UInt64 = 0
        for (i, b) in bytes.enumerated() where property(b) { m |= 1 << UInt64(i) }
        return m
    }

    private func isStringSpecial(_ b: UInt8) -> Bool { b == 0x22 || b == 0x5C || b < 0x20 }

    @Test func masks_agreeWithAByteLoopForEveryByteAtEveryPosition() {
        var rng = SplitMix64(seed: 20)
        // Backgrounds: plain ASCII, high bytes (whose low seven bits may look special), random.
        let backgrounds: [[UInt8]] = [
            Array(repeating: 0x61, count: 64), Array(repeating: 0xA2, count: 64),
            (0..<64).map { _ in UInt8(truncatingIfNeeded: rng.next()) },
        ]
        for background in backgrounds {
            for position in 0..<64 {
                for b in 0...255 {
                    var block = background
                    block[position] = UInt8(b)
                    block.withUnsafeBytes { raw in
                        let p = raw.baseAddress!
                        for half in [0, 16, 32, 48] {
                            let expected = UInt32(reference(block[half..<half + 16], isStringSpecial))
                            #expect(ByteMasks.stringSpecial16(p + half) == expected)
                            #expect(ScalarByteMasks.stringSpecial16(p + half) == expected)
                        }
                        let quotes = reference(block[...], { $0 == 0x22 })
                        #expect(ByteMasks.equal64(p, 0x22) == quotes)
                        #expect(ScalarByteMasks.equal64(p, 0x22) == quotes)
                        let high = block.contains { $0 >= 0x80 }
                        #expect(ByteMasks.anyHigh64(p) == high)
                        #expect(ScalarByteMasks.anyHigh64(p) == high)
                    }
                }
            }
        }
    }

    /// `scanString` with both kernels on `bytes` from `start`: span and final position.
    private func scanBoth(_ bytes: [UInt8], from start: Int) -> (simd: String, scalar: String) {
        bytes.withUnsafeBufferPointer { b in
            var s = JSONScanner(b, pos: start)
            let a = s.scanString(ByteMasks.self)
            var t = JSONScanner(b, pos: start)
            let c = t.scanString(ScalarByteMasks.self)
            return ("\(String(describing: a)) \(s.pos)", "\(String(describing: c)) \(t.pos)")
        }
    }

    @Test func scanString_kernelsAgreeWithTheSpecialByteAtEveryOffsetFromEveryAlignment() {
        let specials: [[UInt8]] = [[0x22], [0x5C, 0x22], [0x5C, 0x5C], [0x5C, 0x75, 0x30, 0x30, 0x65, 0x39], [0x5C, 0x75, 0x30, 0x47],
                                   [0x5C, 0x78], [0x5C], [0x01], [0x1F], [0x0A], [0xC3, 0xA9], [0xA2], [0xDC]]
        for lead in [0, 1, 15] {
            for length in 0...80 {
                for special in specials {
                    for at in Swift.stride(from: 0, through: length, by: length > 40 ? 3 : 1) {
                        var body = Array(repeating: UInt8(ascii: "s"), count: length)
                        body.insert(contentsOf: special, at: at)
                        // Some with the closing quote, some cut off at the end of the buffer.
                        for tail in [[0x22] + Array("}\n".utf8), [], [0x5C]] as [[UInt8]] {
                            let bytes = Array(repeating: UInt8(ascii: " "), count: lead) + [0x22] + body + tail
                            let (simd, scalar) = scanBoth(bytes, from: lead)
                            #expect(simd == scalar, "lead \(lead), length \(length), special \(special) at \(at), tail \(tail)")
                        }
                    }
                }
            }
        }
    }

    /// Realistic callbacks with every kind of nested value a skip has to walk.
    private static let lines: [String] = [
        #"{"app_id":"01EB37HMH1M6SV18BSNS3G999Z","accepted_time":"2025-06-21T05:30:35.200+05:30","event_time":"2025-06-21T00:00:34.500z","project_id":"c36f3d3d-1513-2edd-ae42-11995557ff61","message":{"id":"01HXIN","direction":"TO_APP","contact_message":{"text_message":{"text":"Hi, where is my order?"}},"channel_identity":{"channel":"WHATSAPP","identity":"46708708977","app_id":""},"contact_id":"01HXCT004383"},"message_metadata":""}"#,
        #"{"app_id":"A","event_time":"2025-06-21T00:00:34Z","message_delivery_report":{"status":"DELIVERED","channel_identity":{"channel":"WHATSAPP","identity":"+46 70 1"},"contact_id":"C","metadata":[1,-2.5e+3,true,false,null,{"k":[[],{}]}]},"message_metadata":"{\"pricing_model\":\"CBP\",\"conversation_id\":\"x\\\"y\\u00e9\\ud83d\\ude00\"}"}"#,
        #"{"event":{"a":[0,1.0,-0.5E-2,"\/\b\f\n\r\t",{"deep":[[[[{"x":"é€😀"}]]]]}]}, "app_id" : "B" ,"x":[ 1 , 2 ] }"#,
    ]

    /// Mutations of `line`: one byte replaced by each troublesome byte at every offset, and
    /// every truncation.
    private static func mutations(_ line: [UInt8]) -> [[UInt8]] {
        let bytes: [UInt8] = [0x22, 0x5C, 0x01, 0x7B, 0x7D, 0x5B, 0x5D, 0x3A, 0x2C, 0x20, 0x30, 0x2D, 0x75, 0x74, 0xFF, 0xC3, 0x80]
        var out: [[UInt8]] = []
        for at in line.indices {
            for b in bytes where line[at] != b {
                var m = line
                m[at] = b
                out.append(m)
            }
            out.append(Array(line[..<at]))
        }
        return out
    }

    @Test func skipValue_kernelsAgreeOnEveryMutationOfRealisticLines() {
        for text in Self.lines {
            for lead in [0, 5, 13] {
                let line = Array(repeating: UInt8(ascii: " "), count: lead) + Array(text.utf8)
                for candidate in [line] + Self.mutations(line) {
                    candidate.withUnsafeBufferPointer { b in
                        var s = JSONScanner(b)
                        let a = s.skipValue(ByteMasks.self)
                        var t = JSONScanner(b)
                        let c = t.skipValue(ScalarByteMasks.self)
                        #expect(a == c && s.pos == t.pos, "\(candidate)")
                    }
                }
            }
        }
    }

    @Test func skipValue_acceptsTheRealisticLinesWhole() {
        for text in Self.lines {
            let line = Array(text.utf8)
            line.withUnsafeBufferPointer { b in
                var s = JSONScanner(b)
                #expect(s.skipValue() && s.pos == b.count, "\(text)")
            }
        }
    }

    @Test func isValidUTF8_kernelsAndTheStreamingValidatorAgreeWithABadByteAtEveryOffset() {
        let sequences: [[UInt8]] = [[0xFF], [0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82],
                                    [0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80]]
        for length in 0...200 {
            for sequence in sequences {
                for at in Swift.stride(from: 0, through: length, by: length > 140 ? 7 : 1) {
                    var bytes = Array(repeating: UInt8(ascii: "v"), count: length)
                    bytes.insert(contentsOf: sequence, at: at)
                    var streaming = UTF8Validator()
                    bytes.withUnsafeBufferPointer { streaming.feed($0) }
                    let expected = streaming.finish()
                    bytes.withUnsafeBufferPointer { b in
                        #expect(UTF8Validator.isValid(b, ByteMasks.self) == expected, "length \(length), \(sequence) at \(at)")
                        #expect(UTF8Validator.isValid(b, ScalarByteMasks.self) == expected, "length \(length), \(sequence) at \(at)")
                    }
                }
            }
        }
    }
}
