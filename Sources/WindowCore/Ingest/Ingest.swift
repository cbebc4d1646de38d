/// How the clock C moves (SPEC section 4).
public enum ClockMode: String, Sendable {
    /// Live: C = now − lateness.
    case wall
    /// Replay: C = largest event time seen − lateness.
    case event
}

/// Options of the ingest stage (decoding and clock checks).
public struct IngestOptions: Sendable, Equatable {
    public var mode: ClockMode = .wall
    public var lateness: Int64 = 0
    public var horizon: Int64 = 30 * 86_400_000
    public var maxFuture: Int64 = 5 * 60_000
    public var pmpFrom: Int64 = EngineOptions().pmpFrom

    public init() {}
}

/// Exact counts of what the input held (the summary's left half).
public struct IngestCounters: Sendable, Equatable {
    public var lines = 0
    public var blank = 0
    public var skipped = 0
    public var inbound = 0
    public var injected = 0
    /// Meta `type:"system"` messages.
    public var system = 0
    /// Meta call items (`calls[]`, and statuses of a `calls` change); a user's `connect`
    /// call among them is a contact message (also in `windowRecords`).
    public var calls = 0
    public var otherChannel = 0
    /// WhatsApp receipts by known status (`ReceiptStatus` order).
    public var knownStatuses: [Int] = Array(repeating: 0, count: ReceiptStatus.allCases.count)
    /// Receipts of other statuses by text (at most 64 distinct; the rest counted as "(other)").
    public var otherStatuses: [String: Int] = [:]

    /// WhatsApp receipts by status text.
    public var receipts: [String: Int] {
        var all = otherStatuses
        for s in ReceiptStatus.allCases where s != .other && knownStatuses[Int(s.rawValue)] > 0 {
            all[s.name, default: 0] += knownStatuses[Int(s.rawValue)]
        }
        return all
    }
    /// Records handed to the window engine.
    public var windowRecords = 0
    /// WhatsApp DELIVERED / READ receipts with no pricing information at all.
    public var pricingReceiptsWithoutPricing = 0
    public var diagnostics: [Int] = Array(repeating: 0, count: Diagnostic.allCases.count)

    public init() {}

    public var records: Int { inbound + injected + system + calls + otherChannel + receipts.values.reduce(0, +) }
}

/// What to do with one line.
public enum IngestResult {
    case blank
    case skipped
    case rejected(Diagnostic, detail: String)
    /// A usable record; `input` is set when it can change windows (strings in `decoderArena`).
    case record(input: WindowInput?, badMetadata: Bool)
    /// A Meta webhook body (counted as one line): each of its items goes to `acceptItem`.
    case webhook(items: Int)
}

/// Decodes lines and applies the clock checks, in the order of SPEC section 6; keeps the
/// event-mode clock. Pure: `now` is passed in.
public struct Ingest: Sendable {
    public let options: IngestOptions
    public private(set) var decoder = RecordDecoder()
    /// Event mode: C after the last line (`Int64.min` before any record).
    public private(set) var clock: Int64 = .min
    /// The largest event time of a record so far (either mode; saved in the state).
    public private(set) var maxEventTime: Int64 = .min
    public private(set) var counters = IngestCounters()

    public init(options: IngestOptions) {
        self.options = options
    }

    /// C as a line sees it: the event clock, or now − lateness.
    public func currentClock(now: Int64) -> Int64 {
        options.mode == .event ? clock : now - options.lateness
    }

    /// Counts a line rejected before decoding (over-long or invalid UTF-8 long lines).
    public mutating func countRejected(_ d: Diagnostic) {
        counters.lines += 1
        counters.diagnostics[d.rawValue] += 1
    }

    /// Decodes and accepts one line (single-threaded use: tests, benchmarks).
    public mutating func process(_ line: UnsafeBufferPointer<UInt8>, now: Int64) -> IngestResult {
        decoder.resetArena()
        let outcome = decoder.decode(line)
        let record = decoder.record
        return decoder.arena.withUnsafeBufferPointer { accept(outcome, record, arena: $0, now: now) }
    }

    /// Accepts the items of the Meta webhook body that `process` just answered `.webhook`
    /// for, in order, handing each with its result to `body`.
    public mutating func acceptItems(now: Int64, _ body: (WebhookItem, IngestResult) -> Void) {
        let decoder = decoder
        decoder.arena.withUnsafeBufferPointer { arena in
            for item in decoder.items { body(item, acceptItem(item.outcome, item.record, arena: arena, now: now)) }
        }
    }

    /// Accepts a line decoded elsewhere (possibly on another thread): counts it and applies
    /// the clock checks. A returned `WindowInput`'s strings are ranges in `arena`.
    public mutating func accept(_ outcome: LineOutcome, _ record: DecodedRecord,
                                arena: UnsafeBufferPointer<UInt8>, now: Int64) -> IngestResult {
        counters.lines += 1
        return acceptItem(outcome, record, arena: arena, now: now)
    }

    /// Accepts one item of a Meta webhook body (or the line itself, from `accept`): counts
    /// it and applies the clock checks, against the clock as the previous item left it.
    public mutating func acceptItem(_ outcome: LineOutcome, _ record: DecodedRecord,
                                    arena: UnsafeBufferPointer<UInt8>, now: Int64) -> IngestResult {
        switch outcome {
        case .blank:
            counters.blank += 1
            return .blank
        case .skipped:
            counters.skipped += 1
            return .skipped
        case .rejected(let d, let detail):
            counters.diagnostics[d.rawValue] += 1
            return .rejected(d, detail: detail)
        case .record:
            // A link item is not a record: whoever resolves ids reads it before this; here
            // it is neither counted nor sent to windows, and it does not move the clock.
            if record.kind == .link { return .skipped }
            return check(record, arena, now: now)
        case .webhook(let n):
            return .webhook(items: n)
        }
    }

    private mutating func check(_ r: DecodedRecord, _ arena: UnsafeBufferPointer<UInt8>, now: Int64) -> IngestResult {
        let t = r.time
        func reject(_ d: Diagnostic, _ detail: String) -> IngestResult {
            counters.diagnostics[d.rawValue] += 1
            return .rejected(d, detail: detail)
        }
        if options.mode == .wall, t > now &+ options.maxFuture {
            return reject(.futureTimestamp, "event time \(Timestamp.format(t)) is more than \(DurationText.format(options.maxFuture)) ahead of now")
        }
        if r.whatsapp, r.contact.isEmpty {
            return reject(.missingContact, r.contactNote.detail)
        }
        let c = currentClock(now: now)
        if c != .min, t < c &- options.horizon {
            return reject(.tooLate, "event time \(Timestamp.format(t)) is before the clock \(Timestamp.format(c)) minus the horizon")
        }
        if r.badMetadata { counters.diagnostics[Diagnostic.badMetadata.rawValue] += 1 }
        let input = count(r, arena)
        maxEventTime = max(maxEventTime, t)
        if options.mode == .event {
            clock = max(clock, t &- options.lateness)
        }
        return .record(input: input, badMetadata: r.badMetadata)
    }

    private mutating func count(_ r: DecodedRecord, _ arena: UnsafeBufferPointer<UInt8>) -> WindowInput? {
        func bytes(_ range: ByteRange) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(rebasing: arena[Int(range.start)..<Int(range.start + range.count)])
        }
        guard r.whatsapp else {
            counters.otherChannel += 1
            return nil
        }
        let operation: WindowInput.Operation
        switch r.kind {
        case .inbound:
            if r.system {
                counters.system += 1
                return nil
            }
            if r.call {
                counters.calls += 1
                if r.injected { return nil }
                counters.windowRecords += 1
                return WindowInput(operation: .contactMessage, freeEntryPoint: false, time: r.time, contactHash: r.contactHash,
                                   app: r.app, contact: r.contact, contactID: r.contactID)
            }
            if r.injected {
                counters.injected += 1
                return nil
            }
            counters.inbound += 1
            operation = .contactMessage
        case .receipt:
            if r.status == .other {
                let name = String(decoding: bytes(r.statusText), as: UTF8.self)
                if counters.otherStatuses[name] != nil || counters.otherStatuses.count < 64 {
                    counters.otherStatuses[name, default: 0] += 1
                } else {
                    counters.otherStatuses["(other)", default: 0] += 1
                }
            } else {
                counters.knownStatuses[Int(r.status.rawValue)] += 1
            }
            guard r.status.isPricing else { return nil }
            if !r.hasPricing { counters.pricingReceiptsWithoutPricing += 1 }
            let model = r.model ?? (r.time < options.pmpFrom ? .cbp : .pmp)
            switch model {
            case .cbp where !r.conversationID.isEmpty: operation = .keyedReceipt
            case .pmp where r.freeEntryPoint: operation = .pmpFreeEntry
            default: return nil
            }
        case .link:
            return nil
        }
        counters.windowRecords += 1
        return WindowInput(operation: operation, freeEntryPoint: r.freeEntryPoint, time: r.time, contactHash: r.contactHash,
                           app: r.app, contact: r.contact, contactID: r.contactID,
                           category: r.category, conversationID: r.conversationID, keyHash: r.keyHash)
    }

    /// Continues from a saved clock: the newest event time, and (event mode) the clock.
    public mutating func restore(clock: Int64, newest: Int64) {
        maxEventTime = max(maxEventTime, newest)
        guard options.mode == .event else { return }
        self.clock = clock
        maxEventTime = newest
    }

    /// Event mode, end of input: C moves to max(C, T), T = `until` or the largest event time.
    public mutating func finish(until: Int64?) -> Int64 {
        if let target = until ?? (maxEventTime == .min ? nil : maxEventTime) {
            clock = max(clock, target)
        }
        return clock
    }
}
