/// What the sequencer asks its owner to carry out, in order.
///
/// `.reject` bytes point into the decoded segment's lines (or the over-long line's part) that
/// the call was given: they are valid until the owner lets go of that segment or part.
public enum SequencerAction {
    /// A diagnostic about input line `line` (1-based).
    case report(Diagnostic, line: Int, detail: String)
    /// Wall mode, after a `too_late` diagnostic: the counts so far (for the `--clock event` hint).
    case tooLate(IngestCounters)
    /// Bytes for `--rejects`; `end` ends the rejected line.
    case reject(UnsafeBufferPointer<UInt8>, end: Bool)
    /// A round's batch for shard `shard` (every shard gets the round's ticks).
    case send(shard: Int, ShardBatch)
    /// `--strict`: input line `strictAt` was rejected; nothing after it is taken.
    case stop(strictAt: Int)
    /// Links learned (true) and forgotten (false), for queries (only with `publishesLinks`).
    case links([(link: IdentityLinks.Link, learned: Bool)])
}

/// A new link between a phone and a user id, and where each lives.
public struct PersonLink: Sendable {
    public var app: [UInt8]
    public var phone: [UInt8]
    public var user: [UInt8]
    /// The clock past which the link is forgotten (L + horizon).
    public var until: Int64
    /// The linking item's event time (`contact_linked`'s `due_at`).
    public var time: Int64
    public var phoneShard: Int
    public var userShard: Int
}

/// The order-dependent half of reading: takes decoded segments in input order and turns them
/// into actions. It counts every line, applies the clock checks (`Ingest`), routes each usable
/// record to its shard's batch, cuts rounds with the clock ticks of event mode, stops for
/// `--strict`, and keeps each source's position (`--positions`).
///
/// Pure: no threads, no I/O, `now` is passed in. A round is one decoded segment (longer only
/// inside Meta bodies with many items: see `roundLines`); its batches share the segment's
/// arena, so routing copies no string.
public struct Sequencer: Sendable {
    public struct Options: Sendable {
        public var ingest = IngestOptions()
        public var shards = 1
        public var strict = false
        /// Lines start with `SOURCE<TAB>POSITION<TAB>` (`--positions`).
        public var positions = false
        /// For the over-long line's detail.
        public var maxLineBytes = 1 << 20
        /// Emit `.links` actions (a live query directory needs them).
        public var publishesLinks = false

        public init() {}
    }

    public let options: Options
    public private(set) var ingest: Ingest
    /// `--positions`: each source's last line taken so far (sequenced, or rejected as too long).
    public private(set) var positions = SourcePositions()
    /// `--strict`: the line that stopped the run.
    public private(set) var strictStop: Int?
    /// The links between phones and user ids (SPEC section 12), learned in line order.
    public private(set) var links: IdentityLinks
    private var batches: [ShardBatch]
    private var ticks: [Tick] = []
    private var lineInRound: Int32 = 0
    /// A batch reached `batchRecords`: the round ends after this line.
    private var roundFull = false
    private var lastTick: Int64 = .min
    /// This line linked a phone to a user id: it ends with a tick.
    private var firesAfterLine = false
    private var now: Int64 = 0
    /// `--positions`: the prefix of the over-long line being rejected, read from its first part.
    private var longLine: (source: [UInt8], position: [UInt8])?

    /// A round ends after this many steps even inside one segment: only the items of Meta
    /// bodies can make a segment of at most 2,048 lines that long.
    public static let roundLines: Int32 = 8_192
    /// A round ends once one shard's batch holds this many records.
    public static let batchRecords = 2_048

    public init(options: Options) {
        self.options = options
        ingest = Ingest(options: options.ingest)
        links = IdentityLinks(horizon: options.ingest.horizon)
        links.recordsChanges = options.publishesLinks
        batches = Array(repeating: ShardBatch(arena: ByteArena(capacity: 0)), count: options.shards)
    }

    /// Continues from a saved state: the event clock, the newest event time, the positions.
    public mutating func restore(clock: Int64, newest: Int64, positions saved: [StateFile.SourcePosition],
                                 links savedLinks: [IdentityLinks.Link] = []) {
        for link in savedLinks { links.restore(link) }
        ingest.restore(clock: clock, newest: newest)
        lastTick = ingest.clock
        positions = SourcePositions(saved)
    }

    /// Event mode, end of input: C moves to `until` or the newest event time (if later);
    /// the clock the shards finish at, nil before any record.
    public mutating func finishInput(until: Int64?) -> Int64? {
        let c = ingest.finish(until: until)
        if links.active, c != .min { links.forget(before: c) }
        return c == .min ? nil : c
    }

    /// Links learned and forgotten since the last call, when `publishesLinks` (the end of
    /// input forgets some after the last segment).
    public mutating func linkChanges(into actions: inout [SequencerAction]) {
        guard options.publishesLinks, !links.changes.isEmpty else { return }
        actions.append(.links(links.takeChanges()))
    }

    // MARK: inputs

    /// Takes the next decoded segment, in input order. Its round ends with it.
    public mutating func segmentDecoded(_ segment: DecodedSegment, now: Int64, into actions: inout [SequencerAction]) {
        self.now = now
        let arena = segment.arena
        for k in batches.indices where batches[k].arena !== arena {
            precondition(batches[k].inputs.isEmpty, "a round spans two segments")
            batches[k] = ShardBatch(arena: arena)
        }
        var taken = 0
        arena.withUnsafeBufferPointer { bytes in
            segment.forEachLine { i, outcome, record, items in
                guard strictStop == nil else { return false }
                taken = i + 1
                switch ingest.accept(outcome, record, arena: bytes, now: now) {
                case .blank, .skipped:
                    break
                case .rejected(let d, let detail):
                    rejectLine(d, detail, segment.lines[i], into: &actions)
                case .record(let input, let badMetadata):
                    route(input, record, bytes, badMetadata: badMetadata, into: &actions,
                          "message_metadata or channel_metadata is not a JSON object; processed with what the other gives")
                case .webhook(let count):
                    sequenceItems(items, line: segment.lines[i], bytes, into: &actions)
                    if count > 0 { return true }  // each item ended its own step
                }
                endLine(into: &actions)
                return true
            }
        }
        if options.positions { recordPositions(segment, linesTaken: taken) }
        endRound(into: &actions)
    }

    /// A part of an over-long line (the framer does not hold it): it goes to `--rejects`.
    public mutating func longLinePart(_ part: UnsafeBufferPointer<UInt8>, into actions: inout [SequencerAction]) {
        guard strictStop == nil else { return }
        if options.positions { noteLongPrefix(part) }
        actions.append(.reject(part, end: false))
    }

    /// The over-long line ended: one rejected line.
    public mutating func longLineEnded(validUTF8: Bool, into actions: inout [SequencerAction]) {
        guard strictStop == nil else { return }
        let d: Diagnostic = validUTF8 ? .lineTooLong : .invalidUTF8
        ingest.countRejected(d)
        actions.append(.reject(UnsafeBufferPointer(start: nil, count: 0), end: true))
        actions.append(.report(d, line: ingest.counters.lines,
                               detail: validUTF8 ? "line longer than \(options.maxLineBytes) bytes" : "line is not valid UTF-8"))
        if let long = longLine, !long.source.isEmpty {
            long.source.withUnsafeBufferPointer { s in long.position.withUnsafeBufferPointer { positions.record(source: s, position: $0) } }
        }
        longLine = nil
        if options.strict { stop(at: ingest.counters.lines, into: &actions) }
        endLine(into: &actions)
    }

    /// Ends the round: each shard with records or ticks gets its batch. Whoever cuts the
    /// stream (a checkpoint, the end of a chunk) calls it first.
    public mutating func endRound(into actions: inout [SequencerAction]) {
        defer {
            lineInRound = 0
            roundFull = false
        }
        guard !ticks.isEmpty || batches.contains(where: { !$0.inputs.isEmpty }) else { return }
        for k in batches.indices {
            var batch = batches[k]
            batch.ticks = ticks
            if batch.isEmpty { continue }
            actions.append(.send(shard: k, batch))
            batches[k] = ShardBatch(arena: batch.arena)
        }
        ticks = []
    }

    // MARK: steps

    /// The items of one Meta webhook body, each as one step of SPEC section 4 (the clock moves
    /// and timers fire between them); the whole line goes to --rejects if any was rejected.
    private mutating func sequenceItems(_ items: ArraySlice<WebhookItem>, line: UnsafeBufferPointer<UInt8>,
                                        _ arena: UnsafeBufferPointer<UInt8>, into actions: inout [SequencerAction]) {
        let lineNumber = ingest.counters.lines
        var rejected = false
        for item in items {
            guard strictStop == nil else { break }
            if item.record.kind == .link, case .record = item.outcome {
                // Part of the step of the change's first item, which follows: no step of its own.
                learnLink(item.record, arena, into: &actions)
                continue
            }
            switch ingest.acceptItem(item.outcome, item.record, arena: arena, now: now) {
            case .blank, .skipped, .webhook:
                break
            case .rejected(let d, let detail):
                actions.append(.report(d, line: lineNumber, detail: "\(item.path): \(detail)"))
                rejected = true
                if options.strict { stop(at: lineNumber, into: &actions) }
            case .record(let input, let badMetadata):
                route(input, item.record, arena, badMetadata: badMetadata, into: &actions,
                      "\(item.path): pricing or conversation is not a JSON object; processed with what the other gives")
            }
            endLine(into: &actions)
        }
        if rejected { actions.append(.reject(line, end: true)) }
    }

    private mutating func rejectLine(_ d: Diagnostic, _ detail: String, _ line: UnsafeBufferPointer<UInt8>,
                                     into actions: inout [SequencerAction]) {
        actions.append(.report(d, line: ingest.counters.lines, detail: detail))
        if d == .tooLate, options.ingest.mode == .wall { actions.append(.tooLate(ingest.counters)) }
        actions.append(.reject(line, end: true))
        if options.strict { stop(at: ingest.counters.lines, into: &actions) }
    }

    /// Where every usable record (a Sinch line, an item of a Meta body) goes, in line order:
    /// its ids are resolved to its person's key first (SPEC section 12), then a record that
    /// can change windows joins its shard's batch. Its strings stay in the segment's arena,
    /// which the batch holds.
    private mutating func route(_ input: WindowInput?, _ record: DecodedRecord, _ arena: UnsafeBufferPointer<UInt8>,
                                badMetadata: Bool, into actions: inout [SequencerAction], _ detail: @autoclosure () -> String) {
        if badMetadata { actions.append(.report(.badMetadata, line: ingest.counters.lines, detail: detail())) }
        if record.whatsapp, !record.userID.isEmpty || links.active {
            var input = input
            let person = resolve(record, &input, arena, into: &actions)
            guard let input else { return }
            let shard = RoutingHash.partition(input.contactHash, of: batches.count)
            if let person { batches[shard].append(input, line: lineInRound, person: person) } else { batches[shard].append(input, line: lineInRound) }
            if batches[shard].inputs.count >= Self.batchRecords { roundFull = true }
            return
        }
        guard let input else { return }
        let shard = RoutingHash.partition(input.contactHash, of: batches.count)
        batches[shard].append(input, line: lineInRound)
        if batches[shard].inputs.count >= Self.batchRecords { roundFull = true }
    }

    /// Resolves a record's ids through the links (learning the one it makes): the person
    /// its window record is applied under, routed by that key; nil when it is simply its
    /// decoded contact without a phone. A link's phone deadline moved by an item that does
    /// not reach the user id's shard as a record (a group message, a status that opens
    /// nothing) is sent there as a phone step.
    private mutating func resolve(_ record: DecodedRecord, _ input: inout WindowInput?, _ arena: UnsafeBufferPointer<UInt8>,
                                  into actions: inout [SequencerAction]) -> PersonNote? {
        func slice(_ r: ByteRange) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: arena[Int(r.start)..<Int(r.start + r.count)]) }
        let app = slice(record.app), phone = slice(record.phone), user = slice(record.userID)
        let r = links.resolve(app: app, phone: phone, user: user, at: record.time, linking: !record.system)
        if r.learned { link(app: app, phone: phone, user: user, until: r.until, at: record.time) }
        // The user id the phone leaves shows no phone from this line on.
        if let old = r.unlinkedUser { phoneStep(app, user: old, PersonNote(phone: [], until: .min)) }
        if let other = r.alsoExtended { phoneStep(app, user: other.user, PersonNote(phone: other.phone, until: other.until)) }
        linkChanges(into: &actions)
        guard !r.phone.isEmpty || r.user != nil || !record.userID.isEmpty else { return nil }
        let key = r.user ?? Array(user)
        if input == nil || record.group {
            if !r.phone.isEmpty { phoneStep(app, user: key, PersonNote(phone: r.phone, until: r.until)) }
            return nil
        }
        guard let user = r.user else { return r.phone.isEmpty ? nil : PersonNote(phone: r.phone, until: r.until) }
        // A phone linked to a user id: the record goes to the user id's shard, under its key.
        let hash = user.withUnsafeBufferPointer { RoutingHash.contact(app: app, contact: $0) }
        input!.contactHash = hash
        if input!.operation == .keyedReceipt { input!.keyHash = RoutingHash.conversation(contactHash: hash, id: slice(input!.conversationID)) }
        return PersonNote(key: user, phone: r.phone, until: r.until)
    }

    /// A user id's phone (or its deadline) changed at this line, in that user id's shard.
    private mutating func phoneStep(_ app: UnsafeBufferPointer<UInt8>, user: [UInt8], _ note: PersonNote) {
        let shard = RoutingHash.partition(user.withUnsafeBufferPointer { RoutingHash.contact(app: app, contact: $0) }, of: batches.count)
        batches[shard].phoneSteps.append(PhoneStep(line: lineInRound, app: Array(app), user: user, note: note))
    }

    /// A Meta `contacts[]` entry with both ids: the link, dated by its change's first message
    /// (not when that is too late or too far ahead, as the message itself would be refused).
    private mutating func learnLink(_ record: DecodedRecord, _ arena: UnsafeBufferPointer<UInt8>, into actions: inout [SequencerAction]) {
        let c = ingest.currentClock(now: now)
        guard c == .min || record.time >= c &- options.ingest.horizon else { return }
        guard options.ingest.mode == .event || record.time <= now &+ options.ingest.maxFuture else { return }
        var none: WindowInput?
        _ = resolve(record, &none, arena, into: &actions)
    }

    /// The link at this line, before its record: the phone's shard gives up the phone's
    /// windows, the user id's shard joins them, each at this line of its batch, so the
    /// windows move between the records around the link whatever the number of shards.
    private mutating func link(app: UnsafeBufferPointer<UInt8>, phone: UnsafeBufferPointer<UInt8>, user: UnsafeBufferPointer<UInt8>,
                               until: Int64, at t: Int64) {
        firesAfterLine = true
        let link = PersonLink(app: Array(app), phone: Array(phone), user: Array(user), until: until, time: t,
                              phoneShard: RoutingHash.partition(RoutingHash.contact(app: app, contact: phone), of: batches.count),
                              userShard: RoutingHash.partition(RoutingHash.contact(app: app, contact: user), of: batches.count))
        let handOff = WindowHandOff()
        batches[link.phoneShard].linkSteps.append(LinkStep(line: lineInRound, take: true, link: link, handOff: handOff))
        batches[link.userShard].linkSteps.append(LinkStep(line: lineInRound, take: false, link: link, handOff: handOff))
    }

    /// After each step: a tick when the event clock moved; the round ends when it is full.
    private mutating func endLine(into actions: inout [SequencerAction]) {
        if options.ingest.mode == .event, ingest.clock > lastTick || firesAfterLine {
            // A line that linked fires even when C stays: the windows joined may be due
            // (SPEC step 5 runs after every line).
            lastTick = ingest.clock
            ticks.append(Tick(line: lineInRound, clock: lastTick))
        }
        firesAfterLine = false
        if links.active {
            // SPEC step 4: links whose L + horizon the clock has passed are forgotten.
            let c = ingest.currentClock(now: now)
            if c != .min { links.forget(before: c) }
            linkChanges(into: &actions)
        }
        lineInRound += 1
        if lineInRound >= Self.roundLines || roundFull { endRound(into: &actions) }
    }

    private mutating func stop(at line: Int, into actions: inout [SequencerAction]) {
        strictStop = line
        actions.append(.stop(strictAt: line))
    }

    // MARK: positions

    /// Each source's last line among the segment's first `linesTaken` (all of them unless
    /// --strict stopped the run inside it).
    private mutating func recordPositions(_ segment: DecodedSegment, linesTaken: Int) {
        func record(_ i: Int) {
            guard let p = segment.prefixes[i] else { return }
            let line = segment.lines[i]
            positions.record(source: p.source(line), position: p.position(line))
        }
        if linesTaken == segment.lineCount {
            for i in segment.lastOfSource { record(i) }
        } else {
            for i in 0..<linesTaken { record(i) }
        }
    }

    /// An over-long line is rejected without being held, but its prefix is read: it was
    /// read from its source like any other line. Only a prefix inside the first part counts.
    private mutating func noteLongPrefix(_ part: UnsafeBufferPointer<UInt8>) {
        guard longLine == nil else { return }
        longLine = ([], [])
        guard case .success(let p) = PositionPrefix.find(part),
              UTF8Validator.isValid(UnsafeBufferPointer(rebasing: part[0..<p.callbackStart])) else { return }
        longLine = (Array(p.source(part)), Array(p.position(part)))
    }
}
