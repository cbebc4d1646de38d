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
