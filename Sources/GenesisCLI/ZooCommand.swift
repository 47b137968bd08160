import ArgumentParser
import Foundation
import GenesisKit

struct ZooCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zoo",
        abstract: "The model zoo: official Models Genesis weights by name, fetched once, checked by SHA-256, cached.",
        discussion: """
        Each model has a manifest (zoo/NAME.json in the repository, also compiled into the binary; GENESIS_ZOO=DIR reads another directory): its files with URL, size, SHA-256 and format, the architecture, input shape, preprocessing, licence and citation.

        The cache lives in $GENESIS_HOME (default ~/.cache/genesis): blobs/<sha256> hold files whose hash was checked before they entered, models/NAME/FILE point at them. Two processes fetching the same file wait for each other (a flock per blob); a cut transfer leaves blobs/<sha256>.incomplete, which the next fetch resumes with an HTTP Range request.

        Examples:
          genesis zoo list
          genesis zoo show genesis-chest-ct-keras
          genesis zoo fetch genesis-chest-ct-keras
          genesis zoo import ~/Downloads/Genesis_Chest_CT.h5      # weights downloaded by hand
          genesis verify "$(genesis zoo path genesis-chest-ct-keras)"
          genesis zoo verify                                      # re-hash every cached file
          genesis zoo fetch --url https://host/file.h5 --sha256 HEX --name mine
          GENESIS_ZOO_MIRROR=http://mirror.local/hf genesis zoo fetch genesis-chest-ct-torch
        """,
        subcommands: [ZooListCommand.self, ZooShowCommand.self, ZooFetchCommand.self, ZooImportCommand.self, ZooPathCommand.self,
                      ZooVerifyCommand.self, ZooRemoveCommand.self]
    )
}

extension ZooContext {
    /// "checked and found problems": the message on stderr (and as JSON), exit 1.
    static func problem(_ message: String, json: Bool, extra: [String: Any?] = [:]) -> ExitCode {
        if json {
            var out = extra
            out["error"] = message
            out["exit_code"] = 1
            CLIOutput.json(out)
        }
        CLIOutput.warn(message)
        return ExitCode(1)
    }
}

/// How manifests and cache entries print.
enum ZooRendering {
    static func fileJSON(_ f: ManifestFile, cache: ZooCache, model: String) -> [String: Any?] {
        let expected = try? cache.expected(f, model: model)
        let cached = expected.map { x in cache.hasBlob(x.sha256) && cache.cachedFiles(model: model).contains { $0.sha256 == x.sha256 } } ?? false
        return ["name": f.name, "url": f.url, "path": f.path, "size": f.size, "sha256": f.sha256, "format": f.format,
                "hash_published": f.hashPublished, "hash_note": f.hashNote,
                "recorded_sha256": expected?.source == .recorded ? expected?.sha256 : nil,
                "cached": cached, "cached_path": cached ? cache.namePath(model: model, file: f.name) : nil]
    }

    static func manifestJSON(_ e: ManifestCatalog.Entry, cache: ZooCache) -> [String: Any?] {
        let m = e.manifest
        let a = m.architecture
        return [
            "name": m.name, "description": m.description, "manifest": e.origin,
            "files": m.files.map { fileJSON($0, cache: cache, model: m.name) },
            "cached": m.files.allSatisfy { f in fileJSON(f, cache: cache, model: m.name)["cached"] as? Bool == true },
            "architecture": ["family": a.family, "variant": a.variant, "base_filters": a.baseFilters, "labels": a.labels,
                             "verifiable": a.verifiable, "note": a.note] as [String: Any?],
            "input_shape": m.inputShape, "input_axes": m.inputAxes,
            "preprocessing": preprocessingJSON(m),
            "licence": ["hosting_page": m.licence.hostingPage, "code_repository": m.licence.codeRepository, "note": m.licence.note],
            "citation": ["text": m.citation.text, "bibtex": m.citation.bibtex, "doi": m.citation.doi],
            "source": ["hosting": m.source.hosting, "code": m.source.code, "readme": m.source.readme] as [String: Any?],
            "notes": m.notes,
        ]
    }

    static func preprocessingJSON(_ m: Manifest) -> [String: Any?] {
        var out: [String: Any?] = ["note": m.preprocessingNote]
        for (k, p) in m.preprocessing { out[k] = ["clip": p.clip, "unit": p.unit, "scale_to": p.scaleTo] as [String: Any?] }
        return out
    }

    static func cachedJSON(_ files: [ZooCache.CachedFile]) -> [[String: Any?]] {
        files.map { ["name": $0.file, "sha256": $0.sha256, "size": $0.size, "cached": $0.size != nil, "cached_path": $0.path] }
    }

    static func size(_ n: Int64) -> String { CLIOutput.megabytes(Int(clamping: n)) }
}
