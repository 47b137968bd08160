import Foundation
import Zoo

/// The catalog and the cache every zoo command works on.
public enum ZooContext {
    public static func catalog() throws -> ManifestCatalog {
        try ManifestCatalog.standard(executable: executablePath)
    }

    public static var cache: ZooCache { ZooCache.standard() }

    /// The running binary (so a clone's `zoo/` is found wherever the command is run from).
    public static var executablePath: String {
        var buf = [CChar](repeating: 0, count: 4097)
        let n = readlink("/proc/self/exe", &buf, 4096)
        if n > 0 { return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return CommandLine.arguments.first ?? ""
    }

    /// A model of the catalog, or (for names only the cache knows) nil; unknown to both: an error.
    public static func lookUp(_ name: String, in catalog: ManifestCatalog, cache: ZooCache) throws -> ManifestCatalog.Entry? {
        if let e = catalog.resolve(name) { return e }
        if ZooNames.isName(name), !cache.cachedFiles(model: name).isEmpty { return nil }
        throw ZooError.unknownModel(name: name, known: catalog.names)
    }
}
