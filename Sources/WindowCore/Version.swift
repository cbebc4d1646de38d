/// The release of windowkeeper, its simulator and its benchmark harness (`--version`).
public enum Version {
    public static let number = "0.29.0"
    public static func line(_ program: String) -> String { "\(program) \(number)" }
    public static var text: String { number }
}
