/// One open or remembered window as it is saved in a state file: everything needed to carry
/// on exactly where the engine was, warnings emitted included.
public struct SavedWindow: Sendable, Hashable {
    public var kind: WindowKind
    public var pmp: Bool
    public var open: Bool
    /// Warning leads (largest first) already done for the current `expires`.
    public var warnDone: UInt8
    public var opened: Int64
    public var expires: Int64
    public var last: Int64
    public var app: String
    public var contact: String
    public var contactID: String
    public var category: String
    public var conversationID: String

    public init(kind: WindowKind, pmp: Bool, open: Bool, warnDone: UInt8, opened: Int64, expires: Int64, last: Int64,
                app: String, contact: String, contactID: String, category: String, conversationID: String) {
        self.kind = kind; self.pmp = pmp; self.open = open; self.warnDone = warnDone
        self.opened = opened; self.expires = expires; self.last = last
        self.app = app; self.contact = contact; self.contactID = contactID
        self.category = category; self.conversationID = conversationID
    }
}

extension SavedWindow {
    public init(_ v: StateFile.WindowView, app: String) {
        func string(_ b: UnsafeBufferPointer<UInt8>) -> String { String(decoding: b, as: UTF8.self) }
        self.init(kind: v.kind, pmp: v.pmp, open: v.open, warnDone: v.warnDone, opened: v.opened, expires: v.expires,
                  last: v.last, app: app, contact: string(v.contact), contactID: string(v.contactID),
                  category: string(v.category), conversationID: string(v.conversationID))
    }
}
