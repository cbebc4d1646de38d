/// One contact: (app_id, contact) and the windows it has. Its hash is not kept: it is
/// recomputed from the two strings on the rare occasions it is needed again. Its customer
/// service window is the `ServiceWindow` at the same index.
struct Contact {
    /// Index in the engine's interned app ids.
    var app: UInt32
    var contact: TextRef
    /// The first of its conversation and free-entry-point windows, open or remembered
    /// (linked through `KeyedPart.next`), or -1.
    var firstOther: Int32 = -1
}

/// A contact's customer service window, kept beside its `Contact` (the same index in the
/// engine's `services`) instead of in the window table: the most numerous windows carry no
/// contact link, kind or keyed part, and the contact no link to them. 24 bytes.
///
/// Its expiry and heap due time are kept as 32-bit gaps above its opening, up to about 49.7
/// days. A time further out (a window kept open longer by a contact that keeps writing, or
/// options with longer windows) or before the opening goes to the engine's `farTimes`
/// instead: 16 bytes more per contact, but only once some window needs them. Read and write
/// them through the engine (`serviceExpires`, `setServiceExpires`, `heapDue`, `setHeapDue`).
///
/// Elsewhere it is addressed by the window slot `~c` (negative) of its contact `c`, and
/// seen through `WindowEngine.subscript(window:)` as a `Window`.
struct ServiceWindow {
    var opened: Int64
    /// `expires - opened`, or `far`.
    var expiresGap: UInt32
    /// `heapDue - opened` (as `Window.heapDue`), `noEntry` for none (`Int64.max`), or `far`.
    var heapGap: UInt32
    /// In the engine's `contactIDs` store.
    var contactID: TextRef
    var warnDone: UInt8
    /// False when the contact has no customer service window (the other fields are unused).
    var present: Bool

    /// The gap marking a time kept in the engine's `farTimes`.
    static let far = UInt32.max
    /// The heap gap of a window without a live heap entry.
    static let noEntry = UInt32.max - 1
    /// The largest gap kept in place.
    static let largestGap = UInt32.max - 2

    static let none = ServiceWindow(opened: 0, expiresGap: 0, heapGap: noEntry, contactID: .empty, warnDone: 0, present: false)

    /// `time - opened` when it is a gap kept in place, else nil.
    @inline(__always)
    static func gap(_ time: Int64, above opened: Int64) -> UInt32? {
        let (d, overflow) = time.subtractingReportingOverflow(opened)
        return !overflow && d >= 0 && d <= Int64(largestGap) ? UInt32(truncatingIfNeeded: d) : nil
    }
}

/// The times of a customer service window that its gaps cannot hold (`ServiceWindow.far`).
struct FarTimes {
    var expires: Int64 = 0
    var heapDue: Int64 = 0
}
