import ArgumentParser
import Foundation
import GenesisKit

struct ZooVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-hash cached files: every blob, or one model's files against its manifest.",
        discussion: """
        Without NAME every blob in the cache is read again and its SHA-256 compared with its name. With NAME, each of the model's files must be cached and have the manifest's hash (or, where the manifest publishes none, the hash recorded at its first fetch). Exit 1 when a file is corrupt or missing.

        Examples:
          genesis zoo verify
          genesis zoo verify genesis-chest-ct-keras --json
        """
    )

    @Argument(help: "The model (or file) name; all blobs when omitted.") var name: String?
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() throws {
        let cache = ZooContext.cache
        struct Row { var file: String; var sha256: String; var path: String; var present: Bool; var found: String? }
        var rows: [Row] = []
        var model: String?
        if let name {
            let catalog = try ZooContext.catalog()
            let entry = try ZooContext.lookUp(name, in: catalog, cache: cache)
            model = entry?.manifest.name ?? name
            let cached = cache.cachedFiles(model: model!)
            // A file without a published hash: its record's, else (never fetched) what the cache names.
            let expected = try entry?.manifest.files.compactMap { f -> (String, String)? in
                if let e = try cache.expected(f, model: model!) { return (f.name, e.sha256) }
                return cached.first { $0.file == f.name }.map { (f.name, $0.sha256) } ?? (f.name, "(not published, never fetched)")
            } ?? cache.cachedFiles(model: name).map { ($0.file, $0.sha256) }
            for (file, sha) in expected {
                let present = ZooNames.isSHA256(sha) && cached.contains { $0.sha256 == sha } && cache.hasBlob(sha)
                rows.append(Row(file: file, sha256: sha, path: cache.blobPath(sha), present: present,
                                found: present ? try Checksum.sha256Hex(fileAt: cache.blobPath(sha)) : nil))
            }
        } else {
            for sha in cache.blobHashes() {
                rows.append(Row(file: sha, sha256: sha, path: cache.blobPath(sha), present: true, found: try Checksum.sha256Hex(fileAt: cache.blobPath(sha))))
            }
        }
        let bad = rows.filter { !$0.present || $0.found != $0.sha256 }
        if json {
            CLIOutput.json(["home": cache.home, "name": model, "valid": bad.isEmpty, "checked": rows.filter(\.present).count,
                            "corrupt": rows.filter { $0.present && $0.found != $0.sha256 }.count, "missing": rows.filter { !$0.present }.count,
                            "partial": cache.partialFiles(),
                            "files": rows.map { ["file": $0.file, "sha256": $0.sha256, "path": $0.path, "present": $0.present, "found": $0.found,
                                                 "ok": $0.present && $0.found == $0.sha256] as [String: Any?] }])
        } else {
            for r in rows {
                let state = !r.present ? "missing (genesis zoo fetch \(model ?? ""))" : r.found == r.sha256 ? "ok" : "CORRUPT: its SHA-256 is \(r.found!)"
                CLIOutput.line(model == nil ? "\(r.sha256): \(state)" : "\(model!)/\(r.file): sha256 \(r.sha256): \(state)")
            }
            for p in cache.partialFiles() { CLIOutput.line("\(p): a partial transfer (the next fetch resumes it)") }
            CLIOutput.line(bad.isEmpty ? "valid: \(rows.count) file\(rows.count == 1 ? "" : "s") checked in \(cache.home)"
                                       : "invalid: \(bad.count) of \(rows.count) file\(rows.count == 1 ? "" : "s") corrupt or missing")
        }
        if !bad.isEmpty { throw ExitCode(1) }
    }
}
