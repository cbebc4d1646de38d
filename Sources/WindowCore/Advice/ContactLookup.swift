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
        key(app: app, identity: identity, links: nil)
    }

    /// The key of `identity` as a phone or a user id, resolved through `links` (SPEC section
    /// 12): a phone linked to a user id, or the user id itself, is asked for the user id and
    /// answered with its phone. A user id (by its pattern, trimmed of surrounding spaces) is
    /// kept as written; anything else is normalised as a phone.
    public static func key(app: String, identity: String,
                           links: ((_ app: [UInt8], _ id: [UInt8]) -> IdentityLinks.Link?)?) -> ContactLookup {
        let appBytes = Array(app.utf8)
        var trimmed = Substring(identity)
        while trimmed.first == " " { trimmed.removeFirst() }
        while trimmed.last == " " { trimmed.removeLast() }
        var key = Array(trimmed.utf8)
        if !key.withUnsafeBufferPointer(RecordDecoder.isBSUID) {
            let arena = ByteArena(capacity: identity.utf8.count)
            Array(identity.utf8).withUnsafeBufferPointer { RecordDecoder.appendContactKey($0, to: arena) }
            key = arena.array
        }
        if let links, !key.isEmpty, let link = links(appBytes, key) {
            return ContactLookup(app: appBytes, contact: link.user, phone: link.phone)
        }
        return ContactLookup(app: appBytes, contact: key, phone: nil)
    }
}

extension WindowQuery {
    /// All the windows of a looked-up contact, open at `at` (nil: at the clock C).
    public init(_ lookup: ContactLookup, at: Int64? = nil) {
        self.init(app: "", identity: "")
        app = lookup.app
        contact = lookup.contact
        phone = lookup.phone
        self.at = at
    }
}
