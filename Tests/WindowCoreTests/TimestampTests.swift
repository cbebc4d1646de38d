import Testing
@testable import WindowCore

@Suite struct TimestampTests {
    // 2024-05-16T09:00:01Z, computed by hand: 19859 days since 1970 × 86400 + 9 h + 1 s.
    static let base: Int64 = (19_859 * 86_400 + 9 * 3_600 + 1) * 1_000

    @Test func parse_wholeSecondsZulu_givesEpochMillis() {
        #expect(Timestamp.parse("2024-05-16T09:00:01Z") == Self.base)
        #expect(Timestamp.parse("1970-01-01T00:00:00Z") == 0)
    }

    @Test(arguments: 1...9)
    func parse_everyFractionLength_truncatesToMillis(digits: Int) {
        let fraction = String("987654321".prefix(digits))
        let expected: Int64 = switch digits {
        case 1: 900
        case 2: 980
        default: 987
        }
        #expect(Timestamp.parse("2024-05-16T09:00:01.\(fraction)Z") == Self.base + expected)
    }

    @Test func parse_lowerCaseSeparators_areAccepted() {
        #expect(Timestamp.parse("2024-05-16t09:00:01z") == Self.base)
    }

    @Test(arguments: [("+02:00", -7_200_000), ("-05:30", 19_800_000), ("+00:00", 0), ("-00:00", 0), ("+23:59", -86_340_000)] as [(String, Int64)])
    func parse_offsets_convertToUTC(offset: String, shift: Int64) {
        #expect(Timestamp.parse("2024-05-16T09:00:01\(offset)") == Self.base + shift)
    }

    @Test func parse_offsetCrossingMidnight_movesTheDate() {
        #expect(Timestamp.parse("2024-03-01T00:30:00+01:00") == Timestamp.parse("2024-02-29T23:30:00Z"))
    }

    @Test(arguments: [
        "2024-05-16T09:00:01", "2024-05-16 09:00:01Z", "2024-05-16T09:00:01.Z", "2024-05-16T09:00:01.1234567890Z",
        "2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z", "2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z",
        "2024-05-16T24:00:00Z", "2024-05-16T09:60:00Z", "2024-05-16T09:00:60Z", "2024-05-16T09:00:01+24:00",
        "2024-05-16T09:00:01+02:60", "2024-05-16T09:00:01+0200", "24-05-16T09:00:01Z", "2024-5-16T09:00:01Z",
        "2024-05-16T09:00:01Zjunk", "", "2024-05-16T09:00:01+02:00 ", "２０２４-05-16T09:00:01Z", "+2024-05-16T09:00:01Z",
    ])
    func parse_malformed_isNil(text: String) {
        #expect(Timestamp.parse(text) == nil)
    }

    @Test func parse_leapYears_followTheGregorianRule() {
        #expect(Timestamp.parse("2024-02-29T00:00:00Z") != nil)
        #expect(Timestamp.parse("2000-02-29T00:00:00Z") != nil)
        #expect(Timestamp.parse("1900-02-29T00:00:00Z") == nil)
    }

    @Test func parse_yearRangeEnds_areAccepted() {
        #expect(Timestamp.parse("0000-01-01T00:00:00Z") == -62_167_219_200_000)
        #expect(Timestamp.parse("9999-12-31T23:59:59.999Z") == 253_402_300_799_999)
    }

    @Test func parse_beforeEpoch_truncatesTheFractionNotTheInstant() {
        // −0.0001 s: the fraction .9999 truncates to .999, so the instant is −1 ms (its floor).
        #expect(Timestamp.parse("1969-12-31T23:59:59.9999Z") == -1)
    }

    @Test func format_roundTripsEveryDayOfFourHundredYears() {
        var ms: Int64 = Timestamp.parse("1900-01-01T00:00:00Z")!
        let end = Timestamp.parse("2300-01-01T00:00:00Z")!
        while ms < end {
            let text = Timestamp.format(ms + 12_345_678)
            #expect(Timestamp.parse(text) == ms + 12_345_678)
            ms += 86_400_000 * 7
        }
    }

    @Test func format_writesThreeFractionDigitsAndZ() {
        #expect(Timestamp.format(Self.base + 5) == "2024-05-16T09:00:01.005Z")
        #expect(Timestamp.format(0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(-1) == "1969-12-31T23:59:59.999Z")
    }
}

@Suite struct DurationTextTests {
    @Test(arguments: [("90s", 90_000), ("15m", 900_000), ("1h30m", 5_400_000), ("3d", 259_200_000),
                      ("250ms", 250), ("0", 0), ("1d2h3m4s5ms", 93_784_005), ("0s", 0)] as [(String, Int64)])
    func parse_writtenDurations(text: String, millis: Int64) {
        #expect(DurationText.parse(text) == millis)
    }

    @Test(arguments: ["", "5", "h", "1.5h", "-1h", "1x", "1h 30m", "99999999999999999999d", "ms"])
    func parse_rejectsNonDurations(text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test func format_isTheInverseOfParse() {
        for ms: Int64 in [0, 1, 999, 1_000, 60_000, 5_400_000, 93_784_005, 259_200_000] {
            #expect(DurationText.parse(DurationText.format(ms)) == ms)
        }
    }
}

/// A second, deliberately plain reading of the timestamp grammar (RFC 3339 as SPEC section 2
/// restricts it): byte by byte, days counted year by year. `Timestamp.parse` is held against it.
enum ByteByByteTimestamp {
    static func parse(_ b: [UInt8]) -> Int64? {
        func digits(_ range: Range<Int>) -> Int64? {
            var v: Int64 = 0
            for i in range {
                guard i < b.count, (0x30...0x39).contains(b[i]) else { return nil }
                v = v * 10 + Int64(b[i] - 0x30)
            }
            return v
        }
        func byte(_ i: Int, _ allowed: Set<UInt8>) -> Bool { i < b.count && allowed.contains(b[i]) }
        guard let year = digits(0..<4), byte(4, [0x2D]), let month = digits(5..<7), byte(7, [0x2D]),
              let day = digits(8..<10), byte(10, [0x54, 0x74]), let hour = digits(11..<13), byte(13, [0x3A]),
              let minute = digits(14..<16), byte(16, [0x3A]), let second = digits(17..<19)
        else { return nil }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let lengths: [Int64] = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(month), day >= 1, day <= lengths[Int(month) - 1], hour < 24, minute < 60, second < 60 else { return nil }
        var i = 19
        var millis: Int64 = 0
        if byte(i, [0x2E]) {
            var count = 0
            i += 1
            while i < b.count, (0x30...0x39).contains(b[i]) {
                if count < 3 { millis = millis * 10 + Int64(b[i] - 0x30) }
                count += 1
                i += 1
            }
            guard (1...9).contains(count) else { return nil }
            for _ in count..<max(count, 3) { millis *= 10 }
        }
        var offset: Int64 = 0
        if byte(i, [0x5A, 0x7A]) {
            i += 1
        } else if byte(i, [0x2B, 0x2D]), let oh = digits(i + 1..<i + 3), byte(i + 3, [0x3A]), let om = digits(i + 4..<i + 6),
                  oh < 24, om < 60 {
            offset = (oh * 60 + om) * (b[i] == 0x2D ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        // Days since 1970-01-01, counted by whole years and months (no shortcut formula).
        var days: Int64 = 0
        func isLeap(_ y: Int64) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }
        if year >= 1970 {
            for y in 1970..<year { days += isLeap(y) ? 366 : 365 }
        } else {
            for y in year..<1970 { days -= isLeap(y) ? 366 : 365 }
        }
        for m in 0..<Int(month) - 1 { days += lengths[m] }
        days += day - 1
        return ((days * 24 + hour) * 60 + minute - offset) * 60_000 + second * 1_000 + millis
    }
}

@Suite struct TimestampGrammarTests {
    static let samples = [
        "2024-05-16T09:00:01Z", "2025-06-21T00:10:22.688618237Z", "2025-06-21T01:15:55.537+01:00",
        "2025-06-21T00:15:56.237z", "1999-12-31t23:59:59.9-05:30", "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999Z", "2024-02-29T12:34:56.78+14:00", "1969-12-31T23:59:59.9999Z",
    ]

    /// Every byte of every sample replaced by every byte value: both readings agree (almost
    /// all of these are malformed, at each position the grammar can fail).
    @Test func everySingleByteChange_isReadAsByteByByte() {
        for sample in Self.samples {
            let bytes = Array(sample.utf8)
            #expect(ByteByByteTimestamp.parse(bytes) != nil, "\(sample)")
            for i in bytes.indices {
                for v in 0...255 {
                    var mutated = bytes
                    mutated[i] = UInt8(v)
                    let fast = mutated.withUnsafeBufferPointer { Timestamp.parse($0) }
                    #expect(fast == ByteByByteTimestamp.parse(mutated), "\(sample) byte \(i) = \(v)")
                }
            }
        }
    }

    /// Random instants over years 0000–9999, written with every fraction length and offset.
    @Test func randomInstants_agreeWithByteByByte() {
        var rng = SplitMix64(seed: 20)
        let low = Timestamp.parse("0000-01-02T00:00:00Z")!, high = Timestamp.parse("9999-12-30T00:00:00Z")!
        for k in 0..<4_000 {
            let ms = low + Int64(rng.next() % UInt64(high - low))
            var text = Timestamp.format(ms)  // "…SS.mmmZ"
            let fraction = k % 10  // 0 (none) to 9 digits
            text = String(text.prefix(19)) + (fraction == 0 ? "" : "." + String("\(text.dropFirst(20).prefix(3))987654".prefix(fraction)))
            text += ["Z", "z", "+05:30", "-11:45", "+00:00"][k % 5]
            let bytes = Array(text.utf8)
            let fast = bytes.withUnsafeBufferPointer { Timestamp.parse($0) }
            #expect(fast != nil && fast == ByteByByteTimestamp.parse(bytes), "\(text)")
        }
    }
}
