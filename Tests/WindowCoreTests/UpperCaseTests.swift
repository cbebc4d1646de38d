import Testing
@testable import WindowCore

/// Upper-casing a pricing category, type or Meta status in place, eight bytes at a time,
/// against a byte-by-byte mapping: every byte value at every position of strings of 0–24
/// bytes, and the decoder's result for mixed-case and non-ASCII categories.
@Suite struct UpperCaseTests {
    private func upper(_ b: UInt8) -> UInt8 { (0x61...0x7A).contains(b) ? b - 0x20 : b }

    @Test func everyASCIIByteAtEveryPosition_isMappedAsOneByOne() {
        let background = Array("marketing_Referral-conv".utf8) + [0x60]
        for length in 0...24 {
            for position in 0..<max(length, 1) {
                for b in UInt8(0)...0x7F {
                    var bytes = Array(background[0..<length])
                    if length > 0 { bytes[position] = b }
                    let expected = bytes.map(upper)
                    let ascii = bytes.withUnsafeMutableBufferPointer { RecordDecoder.upperCaseASCII($0.baseAddress!, count: length) }
                    #expect(ascii)
                    #expect(bytes == expected, "length \(length), byte \(b) at \(position)")
                }
            }
        }
    }

    @Test func aNonASCIIByteAnywhere_isReported() {
        for length in 1...24 {
            for position in 0..<length {
                for b: UInt8 in [0x80, 0xC3, 0xFF] {
                    var bytes = Array(repeating: UInt8(0x61), count: length)
                    bytes[position] = b
                    let ascii = bytes.withUnsafeMutableBufferPointer { RecordDecoder.upperCaseASCII($0.baseAddress!, count: length) }
                    #expect(!ascii, "length \(length), byte \(b) at \(position)")
                }
            }
        }
    }

    @Test func decodedCategories_areUpperCased_asciiAndNot() {
        for (written, expected) in [("marketing", "MARKETING"), ("Utility_{x}`z@", "UTILITY_{X}`Z@"), ("authentication-international", "AUTHENTICATION-INTERNATIONAL"),
                                    ("servicé", "SERVICÉ"), ("straße", "STRASSE")] {
            let line = #"{"app_id":"A","event_time":"2025-01-01T00:00:00Z","message_delivery_report":{"status":"DELIVERED","channel_identity":{"channel":"WHATSAPP","identity":"4670"}},"message_metadata":"{\"pricing_category\":\"\#(written)\",\"whatsapp_conversation_id\":\"c1\"}"}"#
            var decoder = RecordDecoder()
            let bytes = Array(line.utf8)
            guard case .record = bytes.withUnsafeBufferPointer({ decoder.decode($0) }) else {
                Issue.record("not a record: \(line)")
                continue
            }
            #expect(decoder.string(decoder.record.category) == expected)
        }
    }
}
