/// One item of a Meta WhatsApp Cloud API webhook body (SPEC sections 11 and 12): a record, a
/// link (`DecodedRecord.Kind.link`), a change of another field or without items (skipped),
/// or an unusable part of the body with its diagnostic.
public struct WebhookItem: Sendable {
    public enum Place: UInt8, Sendable {
        case entry, changes, change, value, messages, statuses, message, status, calls, call, contact
    }

    public var place: Place
    public var entry: Int32
    public var change: Int32
    public var index: Int32
    /// `.record` (then `record` holds it: a record, or a link), `.skipped` or `.rejected`.
    public var outcome: LineOutcome
    public var record: DecodedRecord

    /// The item as a diagnostic's `detail` names it: `entry[0].changes[1].value.statuses[2]`.
    public var path: String {
        var p = "entry[\(entry)]"
        if place == .entry { return p }
        p += ".changes"
        if place == .changes { return p }
        p += "[\(change)]"
        switch place {
        case .value: p += ".value"
        case .messages: p += ".value.messages"
        case .statuses: p += ".value.statuses"
        case .calls: p += ".value.calls"
        case .message: p += ".value.messages[\(index)]"
        case .status: p += ".value.statuses[\(index)]"
        case .call: p += ".value.calls[\(index)]"
        case .contact: p += ".value.contacts[\(index)]"
        default: break
        }
        return p
    }

    /// A link item (a `value.contacts[]` entry with both ids).
    public var isLink: Bool { place == .contact }

    /// Items of the messages (or calls) list sort before those of the statuses list.
    var isMessagePart: Bool { place == .message || place == .messages || place == .call || place == .calls }
}
