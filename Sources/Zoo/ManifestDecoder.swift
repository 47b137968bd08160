import FormatNames
import Foundation

/// Reads a manifest the way `schemas/zoo-manifest.schema.json` describes it: the file capped
/// before it is parsed, every field typed and bounded, unknown fields refused, and an error that
/// names the file and the field (`files[0].sha256`).
public enum ManifestDecoder {
    public static let maxManifestBytes = 256 << 10
    public static let maxStringLength = 8192
    public static let maxFiles = 16
    /// Largest file a manifest may describe: 64 GiB.
    public static let maxFileSize: Int64 = 64 << 30
    /// The `format` values genesis reads: the `FormatNames` table (the schema's enum is tested against it).
    public static let formats = FormatName.allCases.map(\.rawValue)
    /// The `architecture.variant` values: every network family's variants (`FormatNames`'
    /// `NetworkFamilyName`: keras, torch, nnunet).
    public static let variants = NetworkFamilyName.allCases.flatMap(\.variants)
    /// The families genesis verifies (`architecture.family` of a verifiable manifest).
    public static let verifiableFamilies = NetworkFamilyName.allCases.map(\.rawValue)

    public static func decode(_ data: [UInt8], file: String) throws -> Manifest {
        guard data.count <= maxManifestBytes else {
            throw ZooError.badManifest(file: file, field: "(file)", message: "\(data.count) bytes is more than the cap of \(maxManifestBytes)")
        }
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: Data(data))
        } catch {
            throw ZooError.badManifest(file: file, field: "(file)", message: "not valid JSON")
        }
        let r = Reader(file: file)
        let top = try r.object(root, "(top)", keys: ["schema_version", "name", "description", "files", "architecture", "input_shape",
                                                     "input_axes", "preprocessing", "licence", "citation", "source", "notes"],
                               required: ["schema_version", "name", "description", "files", "architecture", "input_shape",
                                          "preprocessing", "licence", "citation", "source"])
        let version = try r.int(top["schema_version"]!, "schema_version", 1...1)
        _ = version
        let name = try r.name(top["name"]!, "name")
        let filesValue = try r.array(top["files"]!, "files", 1...maxFiles)
        var files: [ManifestFile] = []
        for (i, f) in filesValue.enumerated() {
            let file = try decodeFile(f, "files[\(i)]", r)
            if files.contains(where: { $0.name == file.name }) { throw r.bad("files[\(i)].name", "'\(file.name)' is listed twice") }
            files.append(file)
        }
        let shape = try r.array(top["input_shape"]!, "input_shape", 1...8).enumerated().map { try r.int($1, "input_shape[\($0)]", 1...65536) }
        var axes: [String] = []
        if let a = top["input_axes"] {
            axes = try r.array(a, "input_axes", shape.count...shape.count).enumerated().map { try r.string($1, "input_axes[\($0)]", maxLength: 32) }
        }
        let (pre, preNote) = try decodePreprocessing(top["preprocessing"]!, r)
        var notes: [String] = []
        if let n = top["notes"] { notes = try r.array(n, "notes", 0...32).enumerated().map { try r.string($1, "notes[\($0)]") } }
        return Manifest(name: name, description: try r.string(top["description"]!, "description"), files: files,
                        architecture: try decodeArchitecture(top["architecture"]!, r), inputShape: shape, inputAxes: axes,
                        preprocessing: pre, preprocessingNote: preNote, licence: try decodeLicence(top["licence"]!, r),
                        citation: try decodeCitation(top["citation"]!, r), source: try decodeSource(top["source"]!, r), notes: notes)
    }

    static func decodeFile(_ v: JSONValue, _ at: String, _ r: Reader) throws -> ManifestFile {
        let o = try r.object(v, at, keys: ["name", "url", "path", "size", "sha256", "hash_note", "format"], required: ["name", "size", "sha256", "format"])
        let name = try r.string(o["name"]!, "\(at).name", maxLength: 255)
        guard ZooNames.isSafeFileName(name) else { throw r.bad("\(at).name", "'\(name)' is not a plain file name (no '/', no leading '.')") }
        var url: String?, path: String?
        if let u = o["url"] {
            let s = try r.string(u, "\(at).url", maxLength: 2048)
            guard let p = ZooURL.parse(s) else { throw r.bad("\(at).url", "'\(s)' is not an http:// or https:// address") }
            _ = p
            url = s
        }
        if let p = o["path"] {
            let s = try r.string(p, "\(at).path", maxLength: 1024)
            guard ZooNames.isSafeRelativePath(s) else { throw r.bad("\(at).path", "'\(s)' must be relative, without '..' or empty parts") }
            path = s
        }
        guard url != nil || path != nil else { throw r.bad(at, "needs a url, a path, or both") }
        // null: not published (hash_note must say so, and what the host publishes instead).
        let size: Int64? = o["size"]!.isNull ? nil : try r.int(o["size"]!, "\(at).size", 1...maxFileSize)
        var sha: String?
        if !o["sha256"]!.isNull {
            let s = try r.string(o["sha256"]!, "\(at).sha256", maxLength: 64)
            guard ZooNames.isSHA256(s) else { throw r.bad("\(at).sha256", "expected 64 lowercase hex digits, found '\(s)'") }
            sha = s
        }
        let note = try o["hash_note"].map { try r.string($0, "\(at).hash_note") }
        if sha == nil || size == nil {
            guard note != nil else { throw r.bad("\(at).hash_note", "missing: a file without a published sha256 or size needs a note saying what its host publishes") }
            guard url != nil else { throw r.bad("\(at).sha256", "null is only for a file fetched by url; a shipped file's hash is known") }
        }
        if sha != nil, size == nil { throw r.bad("\(at).size", "null with a published sha256: give the size the hash is of") }
        let format = try r.string(o["format"]!, "\(at).format", maxLength: 32)
        guard formats.contains(format) else { throw r.bad("\(at).format", "'\(format)' is not one of \(formats.joined(separator: ", "))") }
        return ManifestFile(name: name, url: url, path: path, size: size, sha256: sha, hashNote: note, format: format)
    }

    static func decodeArchitecture(_ v: JSONValue, _ r: Reader) throws -> ModelArchitecture {
        let o = try r.object(v, "architecture", keys: ["family", "variant", "base_filters", "labels", "verifiable", "note"],
                             required: ["family", "verifiable"])
        let family = try r.string(o["family"]!, "architecture.family", maxLength: 64)
        let verifiable = try r.bool(o["verifiable"]!, "architecture.verifiable")
        let variant = try o["variant"].map { try r.string($0, "architecture.variant", maxLength: 16) }
        if let variant, !variants.contains(variant) { throw r.bad("architecture.variant", "'\(variant)' is not \(NetworkFamilyName.variantList)") }
        let base = try o["base_filters"].map { Int(try r.int($0, "architecture.base_filters", 1...256)) }
        let labels = try o["labels"].map { Int(try r.int($0, "architecture.labels", 1...1024)) }
        if verifiable {
            guard let known = NetworkFamilyName(rawValue: family) else {
                throw r.bad("architecture.verifiable", "only the \(verifiableFamilies.joined(separator: " and ")) families can be verified by genesis")
            }
            guard let variant, base != nil else { throw r.bad("architecture", "a verifiable architecture needs variant and base_filters") }
            guard known.variants.contains(variant) else {
                throw r.bad("architecture.variant", "'\(variant)' is not a variant of \(family) (\(known.variants.joined(separator: ", ")))")
            }
        }
        return ModelArchitecture(family: family, variant: variant, baseFilters: base, labels: labels, verifiable: verifiable,
                                 note: try o["note"].map { try r.string($0, "architecture.note") })
    }

    static func decodePreprocessing(_ v: JSONValue, _ r: Reader) throws -> ([String: Preprocessing], String?) {
        guard case let .object(o) = v else { throw r.bad("preprocessing", "expected an object, found \(v.kind)") }
        var out: [String: Preprocessing] = [:]
        var note: String?
        for (key, value) in o.sorted(by: { $0.key < $1.key }) {
            if key == "note" { note = try r.string(value, "preprocessing.note"); continue }
            guard ZooNames.isName(key), key.count <= 16 else { throw r.bad("preprocessing.\(key)", "not a modality name") }
            let at = "preprocessing.\(key)"
            let m = try r.object(value, at, keys: ["clip", "unit", "scale_to"], required: ["clip", "scale_to"])
            let clip = try r.range(m["clip"]!, "\(at).clip")
            let scale = try r.range(m["scale_to"]!, "\(at).scale_to")
            out[key] = Preprocessing(clip: clip, unit: try m["unit"].map { try r.string($0, "\(at).unit", maxLength: 16) }, scaleTo: scale)
        }
        guard !out.isEmpty else { throw r.bad("preprocessing", "names no modality") }
        return (out, note)
    }

    static func decodeLicence(_ v: JSONValue, _ r: Reader) throws -> Licence {
        let o = try r.object(v, "licence", keys: ["hosting_page", "code_repository", "note"], required: ["hosting_page", "code_repository", "note"])
        return Licence(hostingPage: try r.string(o["hosting_page"]!, "licence.hosting_page"),
                       codeRepository: try r.string(o["code_repository"]!, "licence.code_repository"),
                       note: try r.string(o["note"]!, "licence.note"))
    }

    static func decodeCitation(_ v: JSONValue, _ r: Reader) throws -> Citation {
        let o = try r.object(v, "citation", keys: ["text", "bibtex", "doi"], required: ["text"])
        let bib = try o["bibtex"].map { try r.array($0, "citation.bibtex", 0...8).enumerated().map { try r.string($1, "citation.bibtex[\($0)]") } } ?? []
        let doi = try o["doi"].map { try r.array($0, "citation.doi", 0...8).enumerated().map { try r.string($1, "citation.doi[\($0)]", maxLength: 256) } } ?? []
        return Citation(text: try r.string(o["text"]!, "citation.text"), bibtex: bib, doi: doi)
    }

    static func decodeSource(_ v: JSONValue, _ r: Reader) throws -> Source {
        let o = try r.object(v, "source", keys: ["hosting", "code", "readme"], required: ["hosting"])
        return Source(hosting: try r.string(o["hosting"]!, "source.hosting", maxLength: 2048),
                      code: try o["code"].map { try r.string($0, "source.code", maxLength: 2048) },
                      readme: try o["readme"].map { try r.string($0, "source.readme", maxLength: 2048) })
    }
}

/// Typed, bounded field access with errors that name the manifest and the field.
struct Reader {
    let file: String

    func bad(_ field: String, _ message: String) -> ZooError { .badManifest(file: file, field: field, message: message) }

    func object(_ v: JSONValue, _ at: String, keys: Set<String>, required: [String]) throws -> [String: JSONValue] {
        guard case let .object(o) = v else { throw bad(at, "expected an object, found \(v.kind)") }
        if let extra = o.keys.sorted().first(where: { !keys.contains($0) }) {
            throw bad(at == "(top)" ? extra : "\(at).\(extra)", "unknown field (known: \(keys.sorted().joined(separator: ", ")))")
        }
        if let missing = required.first(where: { o[$0] == nil }) { throw bad(at == "(top)" ? missing : "\(at).\(missing)", "missing") }
        return o
    }

    func array(_ v: JSONValue, _ at: String, _ count: ClosedRange<Int>) throws -> [JSONValue] {
        guard case let .array(a) = v else { throw bad(at, "expected an array, found \(v.kind)") }
        guard count.contains(a.count) else { throw bad(at, "has \(a.count) entries; expected \(count.lowerBound)...\(count.upperBound)") }
        return a
    }

    func string(_ v: JSONValue, _ at: String, maxLength: Int = ManifestDecoder.maxStringLength) throws -> String {
        guard case let .string(s) = v else { throw bad(at, "expected a string, found \(v.kind)") }
        guard s.utf8.count <= maxLength else { throw bad(at, "is \(s.utf8.count) bytes long; the cap is \(maxLength)") }
        return s
    }

    func int(_ v: JSONValue, _ at: String, _ range: ClosedRange<Int64>) throws -> Int64 {
        guard case let .int(i) = v else { throw bad(at, "expected an integer, found \(v.kind)") }
        guard range.contains(i) else { throw bad(at, "\(i) is outside \(range.lowerBound)...\(range.upperBound)") }
        return i
    }

    func int(_ v: JSONValue, _ at: String, _ range: ClosedRange<Int>) throws -> Int {
        Int(try int(v, at, Int64(range.lowerBound)...Int64(range.upperBound)))
    }

    /// A model name (see `ZooNames.isName`).
    func name(_ v: JSONValue, _ at: String) throws -> String {
        let s = try string(v, at, maxLength: 100)
        guard ZooNames.isName(s) else { throw bad(at, "'\(s)' is not a model name (letters, digits, '.', '_', '-'; starting with a letter or digit)") }
        return s
    }

    func bool(_ v: JSONValue, _ at: String) throws -> Bool {
        guard case let .bool(b) = v else { throw bad(at, "expected true or false, found \(v.kind)") }
        return b
    }

    /// [low, high] with low < high, both finite.
    func range(_ v: JSONValue, _ at: String) throws -> [Double] {
        let a = try array(v, at, 2...2).enumerated().map { (i, x) -> Double in
            switch x {
            case let .int(n): return Double(n)
            case let .double(d) where d.isFinite: return d
            default: throw bad("\(at)[\(i)]", "expected a number, found \(x.kind)")
            }
        }
        guard a[0] < a[1] else { throw bad(at, "expected [low, high] with low < high") }
        return a
    }
}
