/// A refusal of the command line itself (not of a format): one line, exit 2.
struct CLIError: Error, CustomStringConvertible {
    /// The file or option the refusal is about.
    let subject: String
    let message: String
    var description: String { "\(subject): \(message)" }
}
