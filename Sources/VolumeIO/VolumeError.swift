/// The one error of the VolumeIO module: which file, what is wrong, what was expected and
/// what was found.
public struct VolumeError: Error, CustomStringConvertible, Equatable {
    public let file: String
    /// The part of the file or the check that failed (`header`, `shape`, `data size`, ...).
    public let what: String
    public let expected: String
    public let found: String

    public init(file: String, what: String, expected: String, found: String) {
        self.file = file
        self.what = what
        self.expected = expected
        self.found = found
    }

    public var description: String { "\(file): \(what): expected \(expected), found \(found)" }
}
