extension WindowEngine {
    /// Every open and remembered window of this shard, as values (tests, tools).
    public func savedWindows() -> [SavedWindow] {
        var out: [SavedWindow] = []
        let image = windowImage()
        image.records.withUnsafeBufferPointer { b in
            StateFile.forEachRecord(b, count: image.count) { v in
                out.append(SavedWindow(v, app: image.apps[v.app]))
            }
        }
        return out
    }

    /// Prepares the restore of one shard's share of `header`'s windows; then
    /// `restore(file:_:records:shard:of:)` for each part of the file, and `finishRestore`.
    public mutating func beginRestore(_ header: StateFile.Header, shards count: Int) {
        beginRestore(windows: header.windowCount / count + 1)
    }

    /// Prepares a restore of `n` windows: tables sized once, timers loaded unordered.
    mutating func beginRestore(windows n: Int) {
        windows.reserveCapacity(windows.count + n)
        contacts.reserveCapacity(contacts.count + n)
        services.reserveCapacity(services.count + n)
        contactIndex.reserve(contactIndex.count + n)
        bulkLoading = true
    }

    /// Restores the windows of a state file that `StateFile.open` accepted which route to
    /// shard `index` of `count` (by contact hash), timers and clock included. Each shard of
    /// a pipeline calls it on the same mapped file, concurrently.
    public mutating func restore(file: UnsafeBufferPointer<UInt8>, _ header: StateFile.Header, shard index: Int, of count: Int) {
        beginRestore(header, shards: count)
        restore(file: file, header, records: header.windowsStart..<header.windowsEnd, shard: index, of: count)
        finishRestore(clock: header.clock)
    }

    /// Restores the windows routed to shard `index` of `count` from `records`, one of
    /// `StateFile.parts` of the file (between `beginRestore` and `finishRestore`).
    public mutating func restore(file: UnsafeBufferPointer<UInt8>, _ header: StateFile.Header, records: Range<Int>,
                                 shard index: Int, of count: Int) {
        let apps = header.apps.map { Array($0.utf8) }
        // Saved with other warning leads: each window's warnings re-arm by the current ones.
        let rearm = header.semantics.engine.warnLeads != options.warnLeads ? header.clock : nil
        StateFile.forEachWindow(file, in: records) { v in
            apps[v.app].withUnsafeBufferPointer { app in
                let hash = RoutingHash.contact(app: app, contact: v.contact)
                guard RoutingHash.partition(hash, of: count) == index else { return }
                var v = v
                if let rearm { v.warnDone = Self.warningsDone(expires: v.expires, leads: options.warnLeads, clock: rearm) }
                restore(v, app: app, contactHash: hash)
            }
        }
    }

    /// The warnings of a window expiring at `expires` that count as done, under `leads`
    /// (largest first), for a state saved at clock C with other leads: those due at or
    /// before C (every warning due by C was fired before the state was saved, under the old
    /// leads; one of the new leads due by then is not sent late), not those due after C.
    /// Window lengths need no such step: a saved window keeps its `opened_at` and
    /// `expires_at`; only windows opened or extended after the restart get the new lengths.
    public static func warningsDone(expires: Int64, leads: [Int64], clock c: Int64) -> UInt8 {
        guard c != .min else { return 0 }
        var done: UInt8 = 0
        for lead in leads where expires &- lead <= c { done += 1 }
        return done
    }

    /// Puts a saved window back straight from a state file's bytes (between `beginRestore`
    /// and `finishRestore`).
    mutating func restore(_ v: StateFile.WindowView, app: UnsafeBufferPointer<UInt8>, contactHash hash: UInt64) {
        // Customer service windows are never remembered (SPEC section 3), so a file written
        // by windowkeeper has none that is closed; one in a file from elsewhere could only
        // ever be forgotten, silently, and is skipped.
        if v.kind == .customerService, !v.open { return }
        let c = contactSlot(hash: hash, app: app, contact: v.contact)
        _ = insertSaved(contact: c, contactHash: hash, kind: v.kind, pmp: v.pmp, open: v.open, warnDone: v.warnDone,
                        opened: v.opened, expires: v.expires, last: v.last, contactID: UnsafeRawBufferPointer(v.contactID),
                        category: v.category, conversationID: v.conversationID)
    }

    /// Ends a restore: timers in heap order, and the clock the shard continues from (timers
    /// due by then fire at the next advance).
    public mutating func finishRestore(clock c: Int64) {
        bulkLoading = false
        heap.heapify()
        if c != .min { clock = c }
    }
}
