import ArgumentParser
import Foundation
import GenesisKit

struct ZooListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the zoo's models and which of them are cached.",
        discussion: """
        Examples:
          genesis zoo list
          genesis zoo list --json | jq '.models[] | {name, cached}'
        """
    )

    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() throws {
        let catalog = try ZooContext.catalog()
        let cache = ZooContext.cache
        let extra = cache.cachedModelNames().filter { catalog.entry(named: $0) == nil }
        if json {
            var models: [[String: Any?]] = catalog.entries.map { ZooRendering.manifestJSON($0, cache: cache).merging(["in_manifest": true]) { a, _ in a } }
            for n in extra {
                models.append(["name": n, "in_manifest": false, "cached": true, "files": ZooRendering.cachedJSON(cache.cachedFiles(model: n))])
            }
            CLIOutput.json(["manifests": catalog.origin, "home": cache.home, "models": models])
            return
        }
        CLIOutput.text("manifests: \(catalog.origin) (\(catalog.entries.count) models); cache: \(cache.home)")
        let nameWidth = max(26, (catalog.names + extra).map(\.count).max().map { $0 + 2 } ?? 0)
        let fileWidth = max(34, catalog.entries.flatMap { $0.manifest.files.map(\.name.count) }.max().map { $0 + 2 } ?? 0)
        for e in catalog.entries {
            for f in e.manifest.files {
                let want = (try? cache.expected(f, model: e.manifest.name))?.map(\.sha256)
                let cached = cache.cachedFiles(model: e.manifest.name).contains { $0.sha256 == want && $0.size != nil }
                let v = e.manifest.architecture.verifiable ? "" : "  (not verifiable yet)"
                CLIOutput.text("  " + InspectRendering.pad(e.manifest.name, nameWidth) + InspectRendering.pad(f.name, fileWidth)
                               + InspectRendering.pad(f.size.map(ZooRendering.size) ?? "unknown", 10) + InspectRendering.pad(f.format, 10)
                               + (cached ? "cached" : "not cached") + v)
            }
        }
        for n in extra {
            for f in cache.cachedFiles(model: n) {
                CLIOutput.text("  " + InspectRendering.pad(CLIOutput.terminalSafe(n), nameWidth) + InspectRendering.pad(f.file, fileWidth)
                               + InspectRendering.pad(f.size.map(ZooRendering.size) ?? "missing", 10) + InspectRendering.pad("", 10) + "cached (no manifest)")
            }
        }
    }
}

struct ZooShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one model's manifest: files, hashes, architecture, preprocessing, licence, citation.",
        discussion: """
        NAME is a model name or one of its file names.

        Examples:
          genesis zoo show genesis-chest-ct-keras
          genesis zoo show Genesis_Chest_CT.pt --json | jq .licence
        """
    )

    @Argument(help: "The model (or file) name.") var name: String
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() throws {
        let catalog = try ZooContext.catalog()
        let cache = ZooContext.cache
        guard let e = try ZooContext.lookUp(name, in: catalog, cache: cache) else {
            let files = cache.cachedFiles(model: name)
            if json { CLIOutput.json(["name": name, "in_manifest": false, "cached": true, "files": ZooRendering.cachedJSON(files)]); return }
            CLIOutput.text("\(name): in the cache, no manifest")
            for f in files { CLIOutput.text("  \(f.file)  sha256 \(f.sha256)  \(f.path)") }
            return
        }
        if json { CLIOutput.json(ZooRendering.manifestJSON(e, cache: cache).merging(["in_manifest": true]) { a, _ in a }); return }
        let m = e.manifest
        CLIOutput.text("\(m.name): \(m.description)")
        CLIOutput.text("manifest: \(e.origin)")
        for f in m.files {
            let expected = try cache.expected(f, model: m.name)
            let cached = cache.cachedFiles(model: m.name).first { $0.sha256 == expected?.sha256 && $0.size != nil }
            CLIOutput.text("file: \(f.name), \(f.size.map { "\(CLIOutput.grouped(Int(clamping: $0))) bytes" } ?? "size not published"), \(f.format)")
            switch (f.sha256, expected) {
            case let (sha?, _): CLIOutput.text("  sha256: \(sha)")
            case let (nil, e?): CLIOutput.text("  sha256: not published; \(e.sha256) recorded at its first fetch (\(cache.recordPath(model: m.name, file: f.name)))")
            case (nil, nil): CLIOutput.text("  sha256: not published; the first zoo fetch prints and records the hash it finds")
            }
            if let n = f.hashNote { CLIOutput.text("  \(n)") }
            if let u = f.url { CLIOutput.text("  url: \(u)") }
            if let p = f.path { CLIOutput.text("  path: \(p) (shipped in the repository)") }
            CLIOutput.text("  cached: " + (cached.map { "yes, \($0.path)" } ?? "no (genesis zoo fetch \(m.name))"))
        }
        let a = m.architecture
        let arch = [a.family, a.variant.map { "variant \($0)" }, a.baseFilters.map { "base \($0)" }, a.labels.map { "\($0) label\($0 == 1 ? "" : "s")" }]
            .compactMap { $0 }.joined(separator: ", ")
        CLIOutput.text("architecture: \(arch)\(a.verifiable ? "" : " (not verifiable by genesis yet)")")
        if let n = a.note { CLIOutput.text("  \(n)") }
        CLIOutput.text("input shape: \(CLIOutput.shape(m.inputShape))\(m.inputAxes.isEmpty ? "" : " (\(m.inputAxes.joined(separator: ", ")))")")
        for (k, p) in m.preprocessing.sorted(by: { $0.key < $1.key }) {
            CLIOutput.text("preprocessing \(k): clip [\(fmt(p.clip[0])), \(fmt(p.clip[1]))]\(p.unit.map { " \($0)" } ?? ""), scale to [\(fmt(p.scaleTo[0])), \(fmt(p.scaleTo[1]))]")
        }
        CLIOutput.text("licence: hosting page says \(m.licence.hostingPage); code repository: \(m.licence.codeRepository)")
        CLIOutput.text("  \(m.licence.note)")
        CLIOutput.text("cite: \(m.citation.text)")
        CLIOutput.text("source: \(m.source.hosting)\(m.source.code.map { ", code \($0)" } ?? "")")
        for n in m.notes { CLIOutput.text("note: \(n)") }
    }

    private func fmt(_ d: Double) -> String { d == d.rounded() ? String(Int(d)) : String(d) }
}

struct ZooPathCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "path",
        abstract: "Print where a cached model's files are (one path a line), to pass to other commands.",
        discussion: """
        Exit 1 when the model is not cached.

        Examples:
          genesis inspect "$(genesis zoo path genesis-chest-ct-keras)"
          genesis zoo path genesis-chest-ct-torch --json
        """
    )

    @Argument(help: "The model (or file) name.") var name: String
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() throws {
        let catalog = try ZooContext.catalog()
        let cache = ZooContext.cache
        let entry = try ZooContext.lookUp(name, in: catalog, cache: cache)
        let model = entry?.manifest.name ?? name
        let cached = cache.cachedFiles(model: model).filter { $0.size != nil }
        let wanted = try entry.map { e in try e.manifest.files.compactMap { f in
            try cache.expected(f, model: model).flatMap { x in cached.first { $0.sha256 == x.sha256 } } } } ?? cached
        guard !wanted.isEmpty, wanted.count == (entry?.manifest.files.count ?? wanted.count) else {
            throw ZooContext.problem(ZooError.notCached(name: model).description, json: json, extra: ["name": model])
        }
        if json {
            CLIOutput.json(["name": model, "paths": wanted.map(\.path), "files": ZooRendering.cachedJSON(wanted)])
        } else {
            for f in wanted { CLIOutput.line(f.path) }
        }
    }
}

struct ZooRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a model from the cache (its names, and every file no other name uses).",
        discussion: """
        Examples:
          genesis zoo remove genesis-chest-ct-torch
        """
    )

    @Argument(help: "The model (or file) name.") var name: String
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() throws {
        let catalog = try ZooContext.catalog()
        let cache = ZooContext.cache
        let model = try ZooContext.lookUp(name, in: catalog, cache: cache)?.manifest.name ?? name
        let names = cache.cachedFiles(model: model)
        guard !names.isEmpty else { throw ZooContext.problem(ZooError.notCached(name: model).description, json: json, extra: ["name": model]) }
        let removed = try cache.remove(model: model)
        if json {
            CLIOutput.json(["name": model, "removed_names": names.map(\.path), "removed_blobs": removed])
            return
        }
        CLIOutput.line("removed \(model): \(names.count) name\(names.count == 1 ? "" : "s"), \(removed.count) file\(removed.count == 1 ? "" : "s") freed")
    }
}

extension CLIOutput {
    /// A line of manifest text (a GENESIS_ZOO manifest is input too): control characters escaped.
    static func text(_ s: String) { line(terminalSafe(s)) }
}
