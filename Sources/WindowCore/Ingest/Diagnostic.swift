/// The diagnostic codes of SPEC section 6, in precedence order.
public enum Diagnostic: Int, CaseIterable, Sendable {
    case invalidUTF8
    case lineTooLong
    /// `--positions` only: no `SOURCE<TAB>POSITION<TAB>` prefix.
    case missingPosition
    case invalidJSON
    case unknownCallback
    case missingField
    case badTimestamp
    case futureTimestamp
    case missingContact
    case tooLate
    /// Not a rejection: the receipt is still processed without pricing information.
    case badMetadata

    public var code: String {
        switch self {
        case .invalidUTF8: "invalid_utf8"
        case .lineTooLong: "line_too_long"
        case .missingPosition: "missing_position"
        case .invalidJSON: "invalid_json"
        case .unknownCallback: "unknown_callback"
        case .missingField: "missing_field"
        case .badTimestamp: "bad_timestamp"
        case .futureTimestamp: "future_timestamp"
        case .missingContact: "missing_contact"
        case .tooLate: "too_late"
        case .badMetadata: "bad_metadata"
        }
    }

    /// True when the line is not used (it goes to `--rejects`, and stops a `--strict` run).
    public var rejectsLine: Bool { self != .badMetadata }
}
