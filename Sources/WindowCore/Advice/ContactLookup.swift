/// The one way a contact named in a question (`/v1/windows`, `/v1/advice`, `status`) becomes
/// the key its windows are kept under. Today: normalised as the input's identities
/// (`RecordDecoder.appendContactKey`: spaces and one leading `+` dropped, so
/// `+46 73 200 11 22` finds `46732001122`). Every lookup goes through `key(app:identity:)`,
/// so that resolving a phone to a business-scoped user id (SPEC section 12) changes one place.
public struct ContactLookup: Sendable, Equatable {
    public var app: [UInt8]
    /// The key the contact's windows are kept under.
    public var contact: [UInt8]
    /// The phone linked to `contact`, when the key is a BSUID with a linked phone (nil until
    /// links exist).
    public var phone: [UInt8]?

    public static func key(app: String, identity: String) -> ContactLookup {
        let key = ByteArena(capacity: identity.utf8.count)
        Array(identity.utf8).withUnsafeBufferPointer { RecordDecoder.appendContactKey($0, to: key) }
        return ContactLookup(app: Array(app.utf8), contact: key.array, phone: nil)
    }
}

extension WindowQuery {
    /// All the windows of a looked-up contact, open at `at` (nil: at the clock C).
    public init(_ lookup: ContactLookup, at: Int64? = nil) {
        self.init(app: "", identity: "")
        app = lookup.app
        contact = lookup.contact
        self.at = at
    }
}
