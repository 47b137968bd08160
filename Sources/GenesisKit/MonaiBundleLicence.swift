import GenesisIO
import Zoo

/// The LICENSE a MONAI bundle ships: what the zoo manifest of the source file says of its
/// licence (the hosting page, the code repository, the note, the citation), or the text of
/// `--license FILE`. A file that matches no manifest and comes without `--license` gets no
/// bundle: genesis does not guess a licence.
public enum MonaiBundleLicence {
    /// Text and one README sentence for `source`, from its zoo manifest.
    public static func fromZoo(_ source: LoadedModel) throws -> (text: String, summary: String) {
        let id = try ZooMatch.of(file: source.path)
        guard let m = id.match else {
            throw WorkflowError(subject: source.path, message: "a MONAI bundle needs the weights' licence: this file matches no zoo manifest (sha256 \(id.sha256)\(id.warning.map { "; \($0)" } ?? "")); give --license FILE with the licence text (genesis does not guess one)")
        }
        return (text(m.manifest, file: m.file.name, sha256: id.sha256), summary(m.manifest))
    }

    static func text(_ m: Manifest, file: String, sha256: String) -> String {
        """
        Licence of the weights in models/model.pt

        models/model.pt holds the weights of \(file) (SHA-256 \(sha256)), the zoo model \(m.name) of genesis:
        \(m.description)
        Source: \(m.source.hosting)\(m.source.code.map { "; code: \($0)" } ?? "")

        What the page that hosts the file says: \(m.licence.hostingPage)
        What the code repository's licence says: \(m.licence.codeRepository)
        \(m.licence.note)

        Cite: \(m.citation.text)
        \(m.citation.bibtex.joined(separator: "\n"))

        The files in configs/, scripts/ and docs/ were written by genesis (MIT licence); they do not change the licence of the weights.
        """ + "\n"
    }

    static func summary(_ m: Manifest) -> String {
        "The weights are the zoo model `\(m.name)`: the page hosting them says \(m.licence.hostingPage); the code repository says \(m.licence.codeRepository)."
    }
}
