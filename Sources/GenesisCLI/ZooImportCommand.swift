import ArgumentParser
import Foundation
import GenesisKit

struct ZooImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Put weights downloaded by hand into the cache: hash, match to a manifest, verify, store.",
        discussion: """
        The file's SHA-256 is looked up in the manifests ("this is the official Genesis_Chest_CT.h5"). A file that is a network genesis knows (the Genesis U-Net, nnU-Net Genesis) is then checked against the architecture as `genesis verify` does (the manifest's, or the one its tensors show), and stored only when it is valid. A manifest file genesis cannot verify is stored on its hash alone, and said so.

        A file that matches no manifest is stored only with --name (and only when it verifies as a Genesis network); without it the command names its hash and exits 1. The file is copied; the original stays.

        Examples:
          genesis zoo import ~/Downloads/Genesis_Chest_CT.h5
          genesis zoo import finetuned.h5 --name my-lung-model
        """
    )

    @Argument(help: "The weights file.") var file: String
    @Option(help: "Cache it under this name (needed when it matches no manifest).") var name: String?
    @OptionGroup var input: InputOptions
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func validate() throws {
        if let n = name, !ZooNames.isName(n) { throw ValidationError("--name must be letters, digits, '.', '_', '-' (starting with a letter or digit)") }
    }

    func run() throws {
        let id = try ZooMatch.of(file: file)
        if let w = id.warning { CLIOutput.warn(w) }
        var out: [String: Any?] = ["file": file, "sha256": id.sha256, "size": id.size, "zoo_match": id.jsonValue]
        if !json { CLIOutput.line("\(file): \(id.line)") }
        guard id.match != nil || name != nil else {
            throw ZooContext.problem("\(file): matches no zoo manifest (sha256 \(id.sha256)); give --name NAME to store it anyway",
                                     json: json, extra: out.merging(["stored": false]) { a, _ in a })
        }
        let check = try verification(id.match)
        out["verification"] = check.json
        if !json { CLIOutput.line(check.line) }
        guard check.passed else {
            throw ZooContext.problem("\(file): not stored: \(check.line)", json: json, extra: out.merging(["stored": false]) { a, _ in a })
        }
        let model = name ?? id.match!.manifest.name
        let fileName = id.match?.file.name ?? safeName()
        let stored = try ZooFetcher(cache: ZooContext.cache).store(localFile: file, sha256: id.sha256, size: id.size, name: model, file: fileName)
        out["stored"] = true
        out["name"] = model
        out["path"] = stored.path
        out["outcome"] = stored.outcome.rawValue
        if json { CLIOutput.json(out); return }
        CLIOutput.line("stored as \(model)/\(fileName)\(stored.outcome == .alreadyCached ? " (its content was already cached)" : ""): \(stored.path)")
    }

    /// The file's own name made safe for the cache.
    private func safeName() -> String {
        let base = file.split(separator: "/").last.map(String.init) ?? "model"
        let cleaned = String(base.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-" ? $0 : "_" }.drop { !($0.isLetter || $0.isNumber) })
        return ZooNames.isName(cleaned) ? cleaned : "model"
    }

    struct Check {
        var passed: Bool
        var line: String
        var json: [String: Any?]
    }

    /// Verified against the architecture when genesis can; a manifest genesis cannot verify passes on its hash.
    private func verification(_ match: ManifestCatalog.Match?) throws -> Check {
        if let m = match, !m.manifest.architecture.verifiable {
            let note = m.manifest.architecture.note ?? m.manifest.architecture.family
            return Check(passed: true, line: "not verified against the architecture: \(note) (stored on its SHA-256, which is the manifest's)",
                         json: ["checked": false, "reason": note])
        }
        let model = try ModelLoader.load(file, format: input.format ?? match.flatMap { FormatKind(rawValue: $0.file.format) })
        let arch: any NetworkArchitecture
        if let a = match?.manifest.architecture, let v = a.variant, let b = a.baseFilters, let family = NetworkFamilies.family(ofVariant: v),
           let asked = family.architecture(variant: v, baseFilters: b, labels: a.labels, like: model.recognised?.architecture) {
            arch = asked
        } else if let d = model.recognised?.architecture {
            arch = d
        } else {
            let verdict = NetworkFamilies.verdict(model.fileMapping)
            return Check(passed: false, line: "not a Models Genesis network: \(verdict)",
                         json: ["checked": true, "valid": false, "genesis": false, "verdict": verdict])
        }
        guard let mapped = model.mapped(as: arch.family) else {
            let why = "a \(model.fileMapping.naming.rawValue)-named file cannot hold \(arch.family.title)"
            return Check(passed: false, line: "not verified: \(why)", json: ["checked": true, "valid": false, "genesis": false, "verdict": why])
        }
        // `problems` knows a sibling's trunk and head (a SuPreM trunk has no output layer).
        let report = ModelVerdict(network: arch, problems: arch.family == model.recognised?.architecture.family ? model.problems(arch) : arch.verify(mapped), notGenesis: nil)
        let problems = report.problems.map { ["tensor": $0.tensor, "kind": $0.kind.rawValue, "message": $0.message] }
        let first = report.problems.first.map { ": \($0.kind.rawValue): \($0.message)" } ?? ""
        return Check(passed: report.valid,
                     line: report.valid ? "verified: \(arch), every tensor present, shaped and typed as expected, finite"
                                        : "invalid as \(arch): \(report.problems.count) problem\(report.problems.count == 1 ? "" : "s")\(first)",
                     json: ["checked": true, "valid": report.valid, "genesis": true, "family": arch.family.rawValue, "variant": arch.variantName,
                            "base_filters": arch.baseFilters, "labels": arch.labels, "problems": problems])
    }
}
