/// RFC 3339 timestamps as integer UTC milliseconds.
///
/// Parsing is strict (SPEC section 2): `YYYY-MM-DD`, `T`/`t`, `HH:MM:SS`, an optional fraction
/// of 1 to 9 digits, then `Z`/`z` or `±HH:MM`. Years 0000–9999, no leap second. The result is
/// truncated to whole milliseconds.
public enum Timestamp {
    /// Parses `bytes` as an RFC 3339 timestamp; `nil` when malformed.
    @inlinable
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        let n = bytes.count
        guard n >= 20 else { return nil }
        @inline(__always) func digit(_ i: Int) -> Int64? {
            let d = bytes[i] &- 0x30
            return d < 10 ? Int64(d) : nil
        }
        @inline(__always) func two(_ i: Int) -> Int64? {
            guard let a = digit(i), let b = digit(i + 1) else { return nil }
            return a * 10 + b
        }
        guard let y1 = two(0), let y2 = two(2), bytes[4] == 0x2D,
              let month = two(5), bytes[7] == 0x2D, let day = two(8),
              bytes[10] == 0x54 || bytes[10] == 0x74,
              let hour = two(11), bytes[13] == 0x3A, let minute = two(14), bytes[16] == 0x3A,
              let second = two(17)
        else { return nil }
        let year = y1 * 100 + y2
        guard month >= 1, month <= 12, day >= 1, day <= daysInMonth(year: year, month: month),
              hour <= 23, minute <= 59, second <= 59
        else { return nil }
        var i = 19
        var millis: Int64 = 0
        if bytes[i] == 0x2E {
            i += 1
            let start = i
            while i < n, let d = digit(i) {
                if i - start < 3 { millis = millis * 10 + d }
                i += 1
            }
            let digits = i - start
            guard digits >= 1, digits <= 9 else { return nil }
            if digits == 1 { millis *= 100 } else if digits == 2 { millis *= 10 }
        }
        guard i < n else { return nil }
        var offsetMinutes: Int64 = 0
        switch bytes[i] {
        case 0x5A, 0x7A:  // Z z
            i += 1
        case 0x2B, 0x2D:  // + -
            guard n - i == 6, let oh = two(i + 1), bytes[i + 3] == 0x3A, let om = two(i + 4),
                  oh <= 23, om <= 59
            else { return nil }
            offsetMinutes = oh * 60 + om
            if bytes[i] == 0x2D { offsetMinutes = -offsetMinutes }
            i += 6
        default:
            return nil
        }
        guard i == n else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offsetMinutes * 60
        return seconds * 1_000 + millis
    }

    /// Parses a Swift string (options, tests).
    public static func parse(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parse($0) }
    }

    @inlinable
    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2:
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            return leap ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    @inlinable
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Appends `millis` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, exactly three fraction digits).
    /// The date part is cached per buffer: consecutive events mostly share two days.
    public static func append(_ millis: Int64, to out: inout ByteBuffer) {
        out.reserve(maxBytes)
        var c = out.cursor
        put(millis, to: &c, dates: &out.dates)
        out.commit(c)
    }

    /// Room `put` may write into: 24 bytes for years 0000–9999, at most 30 outside, and the
    /// words it stores reach a few bytes beyond.
    static let maxBytes = 40

    /// `append` through a cursor into room the caller reserved (`maxBytes`).
    @inline(__always)
    static func put(_ millis: Int64, to c: inout Cursor, dates: inout DateCache) {
        let rem = putDay(millis, to: &c, dates: &dates)
        // "hh:mm:ss" and ".mmmZ", each assembled in a word and stored at once (unsigned 32-bit
        // arithmetic: 0 <= rem < 86_400_000, and divisions by constants need no sign fix-ups).
        let r = UInt32(truncatingIfNeeded: rem)
        let secs = r / 1_000
        let ms = r % 1_000
        @inline(__always) func two(_ v: UInt32) -> UInt64 { UInt64(digitPair(v)) }
        c.putWord(two(secs / 3_600) | 0x3A << 16 | two(secs / 60 % 60) << 24 | 0x3A << 40 | two(secs % 60) << 48, counting: 8)
        c.putWord(0x2E | UInt64(0x30 &+ ms / 100) << 8 | two(ms % 100) << 16 | 0x5A << 32, counting: 5)
    }

    /// The `YYYY-MM-DDT` of `millis` (from the cache when it holds the day); returns the
    /// milliseconds into the day (0 ..< 86_400_000).
    @inline(__always)
    static func putDay(_ millis: Int64, to c: inout Cursor, dates: inout DateCache) -> Int64 {
        var days = millis / dayMillis
        var rem = millis % dayMillis
        if rem < 0 { rem += dayMillis; days -= 1 }
        if days == dates.day.0 {
            c.putDate(dates.date.0)
        } else if days == dates.day.1 {
            c.putDate(dates.date.1)
        } else {
            let start = c.p
            putDate(days: days, to: &c)
            if c.p - start == 11 {
                // Two days cached: an event's opened_at and expires_at mostly fall on two days.
                dates.day.1 = dates.day.0
                dates.date.1 = dates.date.0
                dates.day.0 = days
                var v = SIMD16<UInt8>.zero
                withUnsafeMutableBytes(of: &v) { $0.baseAddress!.copyMemory(from: start, byteCount: 11) }
                dates.date.0 = v
            }
        }
        return rem
    }

    static let dayMillis: Int64 = 86_400_000

    /// "00" to "99", two bytes each: the digits of a value below 100 in one load.
    static let digitPairs: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

    /// The two ASCII digits of `v` (0...99) as a little-endian 16-bit word, tens first.
    @inline(__always)
    static func digitPair(_ v: UInt32) -> UInt16 {
        UnsafeRawPointer(digitPairs.utf8Start).loadUnaligned(fromByteOffset: Int(v) &* 2, as: UInt16.self)
    }

    /// The time-of-day part `put` writes: `hh:mm:ss.mmmZ`.
    static let timeOfDayBytes = 13

    /// "YYYY-MM-DDT" of a day number (civil from days, Hinnant).
    static func putDate(days: Int64, to c: inout Cursor) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        if year < 0 || year > 9999 {
            // Outside RFC 3339's range (reachable only by offsets or long windows): still
            // readable. At most a sign and 9 digits (|millis| < 2^63 is < 300 M years).
            var digits = Array(String(abs(year)).utf8)
            while digits.count < 4 { digits.insert(0x30, at: 0) }
            if year < 0 { digits.insert(0x2D, at: 0) }
            digits.withUnsafeBytes { c.put($0.baseAddress!, $0.count) }
        } else {
            c.putTwoDigits(year / 100)
            c.putTwoDigits(year % 100)
        }
        c.put(0x2D)
        c.putTwoDigits(month)
        c.put(0x2D)
        c.putTwoDigits(day)
        c.put(0x54)
    }

    /// Appends to a byte array (diagnostics, tools).
    public static func append(_ millis: Int64, to out: inout [UInt8]) {
        var b = ByteBuffer(capacity: 64)
        append(millis, to: &b)
        out.append(contentsOf: UnsafeBufferPointer(start: b.base, count: b.count))
    }

    /// Formats `millis` as a string (tests, summaries, status output).
    public static func format(_ millis: Int64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        append(millis, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
