/// Values a file supplies (tensor names, keys, strings) quoted in an error message: cut to
/// about `maxCharacters`, so a hostile 8 MiB key cannot become an 8 MiB error line.
public enum Quoted {
    /// Longest quoted value, in characters, before it is cut.
    public static let maxCharacters = 200

    /// `s` itself when it is short; otherwise its first `limit` Unicode scalars and how long it was.
    public static func clip(_ s: String, limit: Int = maxCharacters) -> String {
        // utf8.count is O(1) for native strings: the short case never walks the text.
        guard s.utf8.count > limit else { return s }
        // Unicode scalars, not characters: one character can carry megabytes of combining marks.
        let scalars = s.unicodeScalars
        guard let end = scalars.index(scalars.startIndex, offsetBy: limit, limitedBy: scalars.endIndex), end != scalars.endIndex else { return s }
        return String(scalars[..<end]) + "... (\(s.utf8.count) bytes, cut to \(limit) characters)"
    }
}
