import Testing
@testable import WindowCore

@Suite struct PositionPrefixTests {
    func decode(_ text: String) -> (LineOutcome, source: String?, position: String?, callback: String?) {
        var decoder = RecordDecoder()
        return Array(text.utf8).withUnsafeBufferPointer { line in
            var prefix: PositionPrefix?
            let outcome = decoder.decodePositioned(line, prefix: &prefix)
            func s(_ b: UnsafeBufferPointer<UInt8>?) -> String? { b.map { String(decoding: $0, as: UTF8.self) } }
            return (outcome, s(prefix?.source(line)), s(prefix?.position(line)), s(prefix?.callback(line)))
        }
    }

    func code(_ o: LineOutcome) -> String? {
        if case .rejected(let d, _) = o { return d.code }
        return nil
    }

    static let callback = #"{"app_id":"A","event_time":"2024-05-16T09:00:00Z","message":{"channel_identity":{"channel":"WHATSAPP","identity":"+46 70"}}}"#

    @Test func splitsOnTheFirstTwoTabsOnly() {
        let r = decode("callbacks/3\t18422\t" + #"{"app_id":"A\tB"}"#)
        #expect(r.source == "callbacks/3")
        #expect(r.position == "18422")
        #expect(r.callback == #"{"app_id":"A\tB"}"#)
        let tabInside = decode("s\t1\t\t" + Self.callback)
        #expect(tabInside.callback == "\t" + Self.callback)
        if case .record = tabInside.0 {} else { Issue.record("a tab before the JSON is whitespace of the callback") }
    }

    @Test func missingPrefixShapes_eachGetMissingPosition() {
        for (line, detail) in [(Self.callback, "no tab"), ("s\t" + Self.callback, "one tab"),
                               ("\t1\t" + Self.callback, "empty SOURCE"), ("s\t\t" + Self.callback, "empty POSITION")] {
            let r = decode(line)
            guard case .rejected(let d, let text) = r.0 else { Issue.record("accepted: \(line)"); continue }
            #expect(d == .missingPosition)
            #expect(text.contains(detail))
            #expect(r.source == nil)
        }
    }

    @Test func precedence_invalidUTF8First_thenMissingPosition_thenTheCallbacksOwn() {
        var bad = Array("no tabs here ".utf8)
        bad.append(0xFF)
        let badLine = bad.withUnsafeBufferPointer { line -> LineOutcome in
            var d = RecordDecoder()
            var p: PositionPrefix?
            return d.decodePositioned(line, prefix: &p)
        }
        #expect(code(badLine) == "invalid_utf8")
        var badSource = Array("s".utf8) + [0xC3] + Array("\t1\t\(Self.callback)".utf8)
        badSource.withUnsafeMutableBufferPointer { m in
            var d = RecordDecoder()
            var p: PositionPrefix?
            #expect(code(d.decodePositioned(UnsafeBufferPointer(m), prefix: &p)) == "invalid_utf8")
            #expect(p == nil)
        }
        let notJSON = decode("s\t7\tnot json")
        #expect(code(notJSON.0) == "invalid_json")
        #expect(notJSON.position == "7")  // a rejected callback's line was still read
        #expect(code(decode("s\t7\t{}").0) == "unknown_callback")
    }

    @Test func blankLines_stayBlank_andABlankCallbackKeepsItsPosition() {
        if case .blank = decode("   ").0 {} else { Issue.record("a blank line is blank") }
        let r = decode("s\t9\t  ")
        if case .blank = r.0 {} else { Issue.record("a blank callback is blank") }
        #expect(r.position == "9")
    }
}
