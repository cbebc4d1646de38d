import Synchronization
import WindowCore

/// The links between phones and user ids as the sequencer has learned them so far (SPEC
/// section 12), for queries answered on the listener's thread: a query by a phone or a user
/// id is answered for the person. Updated by the reader thread as links are learned and
/// forgotten, read under the same lock.
final class LinkDirectory: Sendable {
    private struct Key: Hashable {
        var app: [UInt8]
        var id: [UInt8]
    }

    private struct Table {
        var byPhone: [Key: IdentityLinks.Link] = [:]
        var byUser: [Key: IdentityLinks.Link] = [:]
    }

    private let table = Mutex(Table())

    init(_ links: [IdentityLinks.Link] = []) {
        apply(links.map { ($0, true) })
    }

    func apply(_ changes: [(link: IdentityLinks.Link, learned: Bool)]) {
        table.withLock { t in
            for (link, learned) in changes {
                let phone = Key(app: link.app, id: link.phone), user = Key(app: link.app, id: link.user)
                if learned {
                    t.byPhone[phone] = link
                    t.byUser[user] = link
                } else {
                    if t.byPhone[phone]?.user == link.user { t.byPhone[phone] = nil }
                    if t.byUser[user]?.phone == link.phone { t.byUser[user] = nil }
                }
            }
        }
    }

    /// The link of an id given as a user id or a phone.
    func link(app: [UInt8], id: [UInt8]) -> IdentityLinks.Link? {
        table.withLock { t in t.byUser[Key(app: app, id: id)] ?? t.byPhone[Key(app: app, id: id)] }
    }
}
