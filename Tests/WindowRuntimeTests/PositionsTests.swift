import Foundation
import Testing
import WindowCore
@testable import WindowRuntime

/// `--positions` (source positions kept in the state) and `windowkeeper key`.
@Suite struct PositionsTests {
    static let options = ["--clock", "event", "--lateness", "30m", "--warn", "2h,10m", "--positions"]

    /// Interleaves a callback stream over `sources` sources, each numbering its own lines.
    static func positioned(_ lines: [String], sources: Int, seed: UInt64) -> [(source: String, position: Int, line: String)] {
        var rng = SplitMix64(seed: seed)
        var next = Array(repeating: 100, count: sources)
        return lines.map { line in
            let s = Int(rng.next() % UInt64(sources))
            next[s] += 1 + Int(rng.next() % 3)
            return ("callbacks/\(s)", next[s], line)
        }
    }

    static func text(_ lines: ArraySlice<(source: String, position: Int, line: String)>) -> String {
        lines.map { "\($0.source)\t\($0.position)\t\($0.line)\n" }.joined()
    }

    static func savedPositions(_ path: String) throws -> [String: String] {
        let file = try StateFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(file.semantics.positions)
        return Dictionary(uniqueKeysWithValues: file.positions.map { ($0.source, $0.position) })
    }

    /// The length of the input prefix the saved positions describe, or nil when they
    /// describe none (a source ahead of another, or a position no line has).
    static func prefixLength(_ saved: [String: String], _ input: [(source: String, position: Int, line: String)]) -> Int? {
        var end = 0
        for (source, position) in saved {
            guard let i = input.firstIndex(where: { $0.source == source && String($0.position) == position }) else { return nil }
            end = max(end, i + 1)
        }
        for (i, l) in input[..<end].enumerated() {
            let lastOfSource = input[..<end].lastIndex { $0.source == l.source }!
            if i == lastOfSource, saved[l.source] != String(l.position) { return nil }
        }
        return end
    }

    /// Kill -9 at random moments of a run with --positions and frequent checkpoints: the
    /// state always describes one prefix of the input exactly, and resuming every source
    /// after its saved position (as a queue consumer would) loses and repeats nothing.
    @Test func killedAtRandom_positionsAreOnePrefix_andResumingAfterThemLosesNothing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wk-pos-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var resumedShorter = 0
        for seed in 0..<10 as Range<UInt64> {
            let input = Self.positioned(Callback.stream(seed: seed + 500, lines: 3_000, contacts: 30), sources: 3, seed: seed)
            let whole = Self.text(input[...])
            let reference = try ExecutableTests.run(Self.options, input: whole)
            let state = dir.appendingPathComponent("state-\(seed).bin").path
            let stateOptions = Self.options + ["--state", state, "--checkpoint-every", "1ms", "--shards", String(1 + Int(seed % 3))]

            let killed = try CrashRestartTests.killedRun(stateOptions, input: Data(whole.utf8), chunks: 40,
                                                         killAfter: 5 + Int(seed * 7 % 30), state: state)

            let saved = try Self.savedPositions(state)
            let cut = try #require(Self.prefixLength(saved, input), "seed \(seed): \(saved) is no prefix of the input")

            // Resume: each source after its saved position (here: exactly the lines after the cut).
            let restarted = try ExecutableTests.run(stateOptions, input: Self.text(input[cut...]))
            #expect(restarted.status == 0, "seed \(seed)")
            let union = CrashRestartTests.merged(killed, restarted.events)
            #expect(perContact(union) == perContact(reference.events), "seed \(seed), cut after line \(cut)")
            if cut > 0 { resumedShorter += 1 }
            // The exit state moved on to the end of each source.
            let final = try Self.savedPositions(state)
            for s in Set(input.map(\.source)) {
                #expect(final[s] == String(input.last { $0.source == s }!.position))
            }
        }
        #expect(resumedShorter >= 6)
    }

    /// Lines at or before the saved positions may be fed again (at-least-once): nothing changes.
    @Test func refeedingLinesBeforeThePosition_changesNothing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wk-pos-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = Self.positioned(Callback.stream(seed: 77, lines: 2_000, contacts: 20), sources: 2, seed: 77)
        let reference = try ExecutableTests.run(Self.options, input: Self.text(input[...]))
        let state = dir.appendingPathComponent("s.bin").path
        let first = try ExecutableTests.run(Self.options + ["--state", state], input: Self.text(input[..<1_200]))
        let second = try ExecutableTests.run(Self.options + ["--state", state], input: Self.text(input[900...]))
        let union = CrashRestartTests.merged(first.events, second.events)
        #expect(perContact(union) == perContact(reference.events))
    }

    @Test func badPrefixes_getMissingPosition_andGoToRejectsWhole() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wk-pos-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let rejects = dir.appendingPathComponent("rejects").path
        let state = dir.appendingPathComponent("s.bin").path
        let good = Callback.inbound("4670", at: 1_716_000_000_000)
        let bad = [good, "src\t" + good, "\t5\t" + good, "src\t\t" + good]
        let long = "src\t6\t" + String(repeating: " ", count: 300) + good
        let lines = ["src\t1\t" + good] + bad + ["src\t2\t{\"app_id\":\"A\",\t\"x\":1}", long, "other\t3\t" + good]
        let run = try ExecutableTests.run(Self.options + ["--rejects", rejects, "--state", state, "--max-line-bytes", "200"],
                                          input: lines.joined(separator: "\n") + "\n")
        #expect(run.status == 0)
        let codes = run.stderr.split(separator: "\n").filter { $0.contains("\"diagnostic\"") }
        #expect(codes.filter { $0.contains("missing_position") }.count == 4)
        #expect(codes.contains { $0.contains("\"unknown_callback\"") && $0.contains("\"line\":6") })
        #expect(codes.contains { $0.contains("\"line_too_long\"") && $0.contains("\"line\":7") })
        let dead = try String(contentsOfFile: rejects, encoding: .utf8)
        #expect(dead == ([bad[0], bad[1], bad[2], bad[3], lines[5], long].joined(separator: "\n") + "\n"))
        // The over-long line was read from its source too: its position is saved.
        #expect(try Self.savedPositions(state) == ["src": "6", "other": "3"])
        #expect(run.events.count == 1)
    }

    @Test func stateOfTheOtherSetting_isRefusedAndLeftAlone() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wk-pos-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = Callback.inbound("4670", at: 1_716_000_000_000)
        for (made, then) in [(true, false), (false, true)] {
            let state = dir.appendingPathComponent("s-\(made).bin").path
            let flags = ["--clock", "event", "--state", state]
            _ = try ExecutableTests.run(flags + (made ? ["--positions"] : []), input: (made ? "s\t1\t" : "") + good + "\n")
            let before = try Data(contentsOf: URL(fileURLWithPath: state))
            let run = try ExecutableTests.run(flags + (then ? ["--positions"] : []), input: "")
            #expect(run.status == 2)
            #expect(run.stderr.contains("--positions"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: state)) == before)
        }
    }

    @Test func statusPositions_printsEachSourceSorted() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wk-pos-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let good = Callback.inbound("4670", at: 1_716_000_000_000)
        _ = try ExecutableTests.run(Self.options + ["--state", path],
                                    input: ["b/1\t10\t\(good)", "a/0\t7\t\(good)", "b/1\t11\tjunk", "a\"q\t3\t\(good)"].joined(separator: "\n"))
        let status = try ExecutableTests.run(["status", "--state", path, "--positions"], input: "")
        #expect(status.status == 0)
        #expect(status.stdout == """
            {"source":"a\\"q","position":"3"}
            {"source":"a/0","position":"7"}
            {"source":"b/1","position":"11"}

            """)
    }

    /// A state file written by the release before `--positions` (format 2, from the bundled
    /// sample) still loads, with no positions, and answers as before.
    @Test func stateFormat2_stillLoads_withNoPositions() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wk-pos-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let old = Fixtures.directory.appendingPathComponent("state-format2.bin")
        let bytes = Array(try Data(contentsOf: old))
        #expect(bytes[8] == 2)
        let file = try StateFile.decode(bytes)
        #expect(file.positions.isEmpty)
        #expect(!file.semantics.positions)
        let status = try ExecutableTests.run(["status", "--state", old.path, "--at", "2024-05-22T14:00:00.250Z"], input: "")
        #expect(status.stdout.contains("\"window\":\"free_entry_point\""))
        #expect(try ExecutableTests.run(["status", "--state", old.path, "--positions"], input: "").stdout.isEmpty)
        // A run continues from it and writes the current format.
        let copy = dir.appendingPathComponent("s.bin").path
        try FileManager.default.copyItem(atPath: old.path, toPath: copy)
        let run = try ExecutableTests.run(["--clock", "event", "--state", copy], input: "")
        #expect(run.status == 0)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: copy)))[8] == UInt8(StateFile.version))
    }
}

/// `windowkeeper key`: keys from the same normalisation and routing the shards use.
@Suite struct KeyCommandTests {
    /// `windowkeeper key` on `lines` (as a file), its output split into lines.
    func key(_ lines: [String], partitions: Int?, maxLineBytes: Int = 400) throws -> [String] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wk-key-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let inPath = dir.appendingPathComponent("in").path, outPath = dir.appendingPathComponent("out").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: inPath, atomically: false, encoding: .utf8)
        let inFD = open(inPath, O_RDONLY), outFD = open(outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var options = KeyCommand.Options()
        options.partitions = partitions
        options.maxLineBytes = maxLineBytes
        #expect(KeyCommand.run(options, input: inFD, output: FDWriter(fd: outFD)) == 0)
        close(inFD)
        close(outFD)
        // Split on the byte: as a String, "\r\n" is one character.
        return Array(try Data(contentsOf: URL(fileURLWithPath: outPath))).split(separator: 0x0A, omittingEmptySubsequences: false)
            .dropLast().map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func contactKey_isNormalised_andTheLineIsCopiedByteForByte() throws {
        let a = Callback.inbound("+46 73 200 11 22", at: 1_716_000_000_000)
        let b = Callback.delivered("46732001122", id: "c1", at: 1_716_000_000_000)
        let other = #"{"app_id":"APP","event_time":"2024-05-16T09:00:00Z","message":{"channel_identity":{"channel":"SMS","identity":"1"}}}"#
        let out = try key([a, b + "\r", other, "not json", String(repeating: "x", count: 500)], partitions: nil)
        #expect(out == ["APP/46732001122\t" + a, "APP/46732001122\t" + b + "\r", "-\t" + other, "-\tnot json",
                        "-\t" + String(repeating: "x", count: 500)])
    }

    @Test func partitions_followTheShardRouting() async throws {
        let lines = (0..<200).map { Callback.inbound("4670\($0)", at: 1_716_000_000_000 + Int64($0)) }
        let out = try key(lines + ["junk"], partitions: 3)
        #expect(out.last == "0\tjunk")
        // Each contact's partition is the shard the pipeline with 3 shards routes it to.
        var expected: [String] = []
        for (i, line) in lines.enumerated() {
            var ingest = Ingest(options: IngestOptions())
            let result = Array(line.utf8).withUnsafeBufferPointer { ingest.process($0, now: 1_716_000_000_000 + Int64(i)) }
            guard case .record(let input?, _) = result else { Issue.record("not a window record"); return }
            expected.append("\(input.contactHash % 3)\t" + line)
        }
        #expect(Array(out.dropLast()) == expected)
        #expect(Set(out.dropLast().map { $0.prefix(1) }).count == 3)
    }

    static func body(_ items: String) -> String {
        #"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"P1"},"# + items + "}}]}]}"
    }

    @Test func metaBodies_takeTheirItemsCommonContact_andABodyOfTwoPeopleIsOneLineEach() throws {
        let body = Self.body
        let one = body(#""messages":[{"from":"+46 70","timestamp":"1749416383","type":"text"}],"statuses":[{"status":"read","timestamp":"1749416390","recipient_id":"4670"}]"#)
        let two = body(#""messages":[{"from":"4670","timestamp":"1749416383","type":"text"},{"from":"4671","timestamp":"1749416384","type":"text"}]"#)
        let none = body(#""statuses":[{"status":"read","timestamp":"1749416390"}]"#)
        #expect(try key([one, two, none], partitions: nil) == [
            "P1/4670\t" + one,
            "P1/4670\t" + body(#""messages":[{"from":"4670","timestamp":"1749416383","type":"text"}]"#),
            "P1/4671\t" + body(#""messages":[{"from":"4671","timestamp":"1749416384","type":"text"}]"#),
            "-\t" + none,
        ])
        let sinch = #"{"app_id":"P1","event_time":"2025-06-08T20:59:43Z","message":{"channel_identity":{"channel":"WHATSAPP","identity":"4670"}}}"#
        let partitions = try key([one, sinch], partitions: 7)
        #expect(partitions[0].prefix(2) == partitions[1].prefix(2))  // one contact, one partition, whatever the format
    }

    @Test func lines_areKeyedByTheirBSUIDFirst_andGroupsByTheGroup() throws {
        let both = Self.body(#""contacts":[{"wa_id":"4670","user_id":"US.77"}],"messages":[{"from":"4670","from_user_id":"US.77","timestamp":"1749416383"}]"#)
        let group = Self.body(#""messages":[{"from":"4670","group_id":"G1","timestamp":"1749416383"}]"#)
        let sinch = #"{"app_id":"P1","event_time":"2025-06-08T20:59:43Z","message":{"channel_identity":{"channel":"WHATSAPP","identity":"US.ENT.9"}}}"#
        #expect(try key([both, group, sinch], partitions: nil) == ["P1/US.77\t" + both, "P1/group:G1\t" + group, "P1/US.ENT.9\t" + sinch])
        // A phone-only item that its change's contacts[] entry links to a BSUID is the BSUID's.
        let byContacts = Self.body(#""contacts":[{"wa_id":"4670","user_id":"US.77"}],"messages":[{"from":"4670","timestamp":"1749416383"}]"#)
        #expect(try key([byContacts], partitions: nil) == ["P1/US.77\t" + byContacts])
    }

    @Test func aBodyOfSeveralPeople_keepsEachPersonsItemsAndContactsInOrder_andNobodysPartsGoWithTheFirst() throws {
        // Two entries; the first change names two people (one by BSUID only), the second a third
        // person; a rejected item and a change of another field belong to nobody.
        let line = #"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"P1"},"contacts":[{"wa_id":"4670","user_id":"US.1"},{"user_id":"US.2"},{"wa_id":"5555"}],"messages":[{"from":"4670","from_user_id":"US.1","timestamp":"10"},{"from_user_id":"US.2","timestamp":"11"},{"from":"4670","timestamp":"x"}],"statuses":[{"status":"read","recipient_id":"4670","recipient_user_id":"US.1","timestamp":"12"}]},"field":"messages"},{"value":{"x":1},"field":"account_update"}]},{"id":"2","changes":[{"value":{"metadata":{"phone_number_id":"P1"},"statuses":[{"status":"sent","recipient_id":"4699","timestamp":"13"}]},"field":"messages"}]}],"padding":"z"}"#
        let out = try key([line], partitions: nil, maxLineBytes: 4096)
        let first = #"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"P1"},"contacts":[{"wa_id":"4670","user_id":"US.1"},{"wa_id":"5555"}],"messages":[{"from":"4670","from_user_id":"US.1","timestamp":"10"},{"from":"4670","timestamp":"x"}],"statuses":[{"status":"read","recipient_id":"4670","recipient_user_id":"US.1","timestamp":"12"}]},"field":"messages"},{"value":{"x":1},"field":"account_update"}]}],"padding":"z"}"#
        let second = #"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"P1"},"contacts":[{"user_id":"US.2"}],"messages":[{"from_user_id":"US.2","timestamp":"11"}]},"field":"messages"}]}],"padding":"z"}"#
        let third = #"{"object":"whatsapp_business_account","entry":[{"id":"2","changes":[{"value":{"metadata":{"phone_number_id":"P1"},"statuses":[{"status":"sent","recipient_id":"4699","timestamp":"13"}]},"field":"messages"}]}],"padding":"z"}"#
        #expect(out == ["P1/US.1\t" + first, "P1/US.2\t" + second, "P1/4699\t" + third])
        // Each line, fed to windowkeeper, gives that person's items: the same records as the whole body.
        for (i, part) in [first, second, third].enumerated() {
            let items = DecodedBodyItems(part)
            #expect(items.keys == [["P1/US.1", "-", "P1/US.1", "-"], ["P1/US.2"], ["P1/4699"]][i], "\(i)")
        }
    }

    @Test func aBodyOfManyStatusesForManyPeople_isOneLinePerStatus() throws {
        let statuses = (0..<3_000).map { #"{"status":"sent","timestamp":"1","recipient_id":"\#(46_700_000 + $0)"}"# }
        let out = try key([Self.body(#""statuses":["# + statuses.joined(separator: ",") + "]")], partitions: nil, maxLineBytes: 1 << 20)
        #expect(out.count == 3_000)
        #expect(out.last == "P1/46702999\t" + Self.body(#""statuses":["# + statuses[2_999] + "]"))
    }

    @Test func keyContact_printsTheKeyOrPartitionOfOneId() throws {
        func line(_ args: [String]) throws -> String { KeyCommand.contactLine(try #require(try KeyCommand.parse(args))) }
        #expect(try line(["--contact", "+46 73 200 11 22", "--app", "APP"]) == "APP/46732001122\n")
        #expect(try line(["--contact", " US.1349 ", "--app", "APP"]) == "APP/US.1349\n")
        #expect(try line(["--contact", "group:G 1"]) == "/group:G 1\n")
        #expect(try line(["--contact", "us.1349"]) == "/us.1349\n")
        let sinch = #"{"app_id":"APP","event_time":"2025-06-08T20:59:43Z","message":{"channel_identity":{"channel":"WHATSAPP","identity":"+46 73 200 11 22"}}}"#
        let keyed = try key([sinch], partitions: 16)
        #expect(try line(["--contact", "46732001122", "--app", "APP", "--partitions", "16"]) == keyed[0].prefix { $0 != "\t" } + "\n")
        #expect(throws: UsageError.self) { try KeyCommand.parse(["--app", "APP"]) }
        #expect(throws: UsageError.self) { try KeyCommand.parse(["--contact", " + "]) }
        #expect(throws: UsageError.self) { try KeyCommand.parse(["--contact"]) }
        #expect(KeyCommand.helpText.contains("--contact ID"))
    }

    @Test func parse_rejectsBadCounts_andHelpIsHelp() throws {
        #expect(try KeyCommand.parse(["--help"]) == nil)
        #expect(try KeyCommand.parse(["--partitions", "8"])?.partitions == 8)
        #expect(throws: UsageError.self) { try KeyCommand.parse(["--partitions", "0"]) }
        #expect(throws: UsageError.self) { try KeyCommand.parse(["--partitions"]) }
        #expect(throws: UsageError.self) { try KeyCommand.parse(["extra"]) }
    }
}

/// The contact key of each item of one Meta body ("-" for an item without one).
private struct DecodedBodyItems {
    var keys: [String] = []

    init(_ line: String) {
        var d = RecordDecoder()
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBufferPointer { d.decode(UnsafeBufferPointer($0)) }
        for item in d.items where !item.isLink {
            if case .record = item.outcome, !item.record.contact.isEmpty {
                keys.append(d.string(item.record.app) + "/" + d.string(item.record.contact))
            } else {
                keys.append("-")
            }
        }
    }
}
