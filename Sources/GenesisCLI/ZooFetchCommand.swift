import ArgumentParser
import Foundation
import GenesisKit

struct ZooFetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download a model into the cache, checking its size and SHA-256 before it enters.",
        discussion: """
        NAME is a model of `genesis zoo list` (or one of its file names). --url with --sha256 fetches any file by address instead (named by --name, else by the URL's last part); a hash that is a manifest's says which official file it is.

        A file whose manifest publishes no SHA-256 (the hosting page gives none) is fetched anyway: the hash found is printed and recorded in the cache (records/MODEL/FILE.json), and later fetches, zoo verify, inspect and verify check against it (delete that record to accept other bytes).

        A transfer that is cut is resumed (HTTP Range) up to three times; if it still fails, blobs/<sha256>.incomplete stays in the cache and the same command resumes it later. A server that ignores Range is restarted from zero (said on stderr). A wrong hash removes the download and names both hashes. A file already cached is not fetched again. Errors (no network, HTTP 404, wrong hash, disk full) are one line, exit 2.

        --mirror URL (or GENESIS_ZOO_MIRROR) fetches the same paths from another host: --mirror http://mirror.local/hf turns https://huggingface.co/MrGiovanni/... into http://mirror.local/hf/MrGiovanni/....

        Examples:
          genesis zoo fetch genesis-chest-ct-keras
          genesis zoo fetch Genesis_Chest_CT.pt --mirror http://mirror.local/hf
          genesis zoo fetch --url https://example.org/w.h5 --sha256 2d40370b... --name my-weights
        """
    )

    @Argument(help: "The model (or file) name.") var name: String?
    @Option(help: "Fetch this address instead of a named model (needs --sha256).") var url: String?
    @Option(help: "The SHA-256 the file at --url must have (64 hex digits).") var sha256: String?
    @Option(parsing: .unconditional, help: "The size in bytes the file at --url must have (checked before and after the transfer).") var size: Int64?
    @Option(name: .customLong("name"), help: "With --url: the name to cache it under.") var cacheName: String?
    @Option(help: "Another host serving the same paths (default: $GENESIS_ZOO_MIRROR).") var mirror: String?
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func validate() throws {
        if url == nil {
            guard name != nil else { throw ValidationError("give a model name (genesis zoo list) or --url URL --sha256 HEX") }
            guard sha256 == nil, cacheName == nil, size == nil else { throw ValidationError("--sha256, --size and --name go with --url") }
        } else {
            guard name == nil else { throw ValidationError("give a model name or --url, not both") }
            guard let h = sha256 else { throw ValidationError("--url needs --sha256 HEX: the hash the file must have") }
            guard ZooNames.isSHA256(h.lowercased()) else { throw ValidationError("--sha256 must be 64 hex digits, found '\(h)'") }
            guard ZooURL.parse(url!) != nil else { throw ValidationError("--url must be an http:// or https:// address") }
            if let n = cacheName, !ZooNames.isName(n) { throw ValidationError("--name must be letters, digits, '.', '_', '-' (starting with a letter or digit)") }
            if let s = size, s < 1 || s > ManifestDecoder.maxFileSize { throw ValidationError("--size must be positive, at most \(ManifestDecoder.maxFileSize), not \(s)") }
        }
    }

    func run() throws {
        let catalog = try ZooContext.catalog()
        let cache = ZooContext.cache
        var fetcher = ZooFetcher(cache: cache, mirror: try mirrorURL())
        fetcher.downloader.idleTimeout = ProcessInfo.processInfo.environment["GENESIS_ZOO_TIMEOUT"].flatMap(Double.init) ?? 60
        let results: [ZooFetcher.Fetched]
        var model: String
        var match: ManifestCatalog.Match?
        if let url {
            let hash = sha256!.lowercased()
            match = catalog.match(sha256: hash, cache: cache)
            let fileName = match?.file.name ?? ZooNames.fromURL(url) ?? "file"
            model = cacheName ?? match?.manifest.name ?? fileName
            if let m = match, !json { CLIOutput.warn("\(hash) is the official \(m.file.name) (zoo model \(m.manifest.name))") }
            let progress = ZooProgress(file: fileName, quiet: json)
            results = [try fetcher.fetch(url: url, sha256: hash, size: size ?? match?.file.size.flatMap { $0 }, name: model, file: fileName, observer: progress)]
            progress.finish()
        } else {
            guard let entry = try ZooContext.lookUp(name!, in: catalog, cache: cache) else {
                throw ZooError.badArgument(subject: name!, message: "is in the cache but has no manifest: nothing to fetch it from")
            }
            model = entry.manifest.name
            var all: [ZooFetcher.Fetched] = []
            for f in entry.manifest.files {
                let progress = ZooProgress(file: f.name, quiet: json)
                do {
                    all.append(try fetcher.fetch(entry, file: f, observer: progress))
                } catch let e as ZooError {
                    guard case .unreachable = e else { throw e }
                    // Offline: what to do instead, on the same line.
                    throw WorkflowError(subject: "zoo fetch \(model)", message: "\(e); with the file at hand, `genesis zoo import \(f.name)` checks it against the manifest and caches it; or fetch from another host with --mirror URL (or GENESIS_ZOO_MIRROR)")
                }
                progress.finish()
            }
            results = all
        }
        report(model: model, results, match: match)
    }

    private func mirrorURL() throws -> ZooURL? {
        guard let m = mirror ?? ProcessInfo.processInfo.environment["GENESIS_ZOO_MIRROR"].flatMap({ $0.isEmpty ? nil : $0 }) else { return nil }
        guard let u = ZooURL.parse(m) else {
            throw ZooError.badArgument(subject: mirror != nil ? "--mirror" : "GENESIS_ZOO_MIRROR", message: "'\(m)' is not an http:// or https:// address")
        }
        return u
    }

    private func report(model: String, _ results: [ZooFetcher.Fetched], match: ManifestCatalog.Match?) {
        if json {
            CLIOutput.json(["name": model, "home": ZooContext.cache.home,
                            "zoo_match": match.map { ZooMatch.json($0) },
                            "files": results.map { ["file": $0.file, "sha256": $0.sha256, "size": $0.size, "path": $0.path,
                                                    "outcome": $0.outcome.rawValue, "from": $0.from, "sha256_source": $0.hashSource.rawValue,
                                                    "record": $0.hashSource == .published ? nil : ZooContext.cache.recordPath(model: model, file: $0.file)] as [String: Any?] }])
            return
        }
        for r in results {
            let how: String
            switch r.outcome {
            case .alreadyCached: how = "already cached"
            case .completedByAnotherProcess: how = "fetched by another genesis process meanwhile"
            case .stored: how = "fetched\(r.from.map { " from \($0)" } ?? ""), SHA-256 checked"
            }
            CLIOutput.line("\(model)/\(r.file): \(how), \(CLIOutput.grouped(Int(clamping: r.size))) bytes")
            switch r.hashSource {
            case .published: CLIOutput.line("  sha256: \(r.sha256)")
            case .recorded: CLIOutput.line("  sha256: \(r.sha256) (none is published: checked against the hash recorded at its first fetch)")
            case .found:
                CLIOutput.line("  sha256: \(r.sha256) (none is published: this is the hash found; recorded in \(ZooContext.cache.recordPath(model: model, file: r.file)), later fetches and zoo verify check against it)")
            }
            CLIOutput.line("  path: \(r.path)")
        }
    }
}
