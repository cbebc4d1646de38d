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
/// contact link, kind or keyed part, and the contact no link to them. 32 bytes.
///
/// Elsewhere it is addressed by the window slot `~c` (negative) of its contact `c`, and
/// seen through `WindowEngine.subscript(window:)` as a `Window`.
struct ServiceWindow {
    var opened: Int64
    var expires: Int64
    /// As `Window.heapDue`.
    var heapDue: Int64
    /// In the engine's `contactIDs` store.
    var contactID: TextRef
    var warnDone: UInt8
    /// False when the contact has no customer service window (the other fields are unused).
    var present: Bool

    static let none = ServiceWindow(opened: 0, expires: 0, heapDue: .max, contactID: .empty, warnDone: 0, present: false)
}
