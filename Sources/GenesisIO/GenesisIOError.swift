/// Errors choosing, loading or saving a model file.
public enum GenesisIOError: Error, CustomStringConvertible, Equatable {
    case unknownFormat(file: String, reason: String)
    case formatMismatch(file: String, asked: String, found: String)
    case notGenesis(file: String, reason: String)
    /// A network genesis recognises, of another family than the command takes.
    case otherNetwork(file: String, network: String)
    case cannotWrite(file: String, reason: String)
    /// The output is the input file (same device and inode after following symlinks).
    case sameFile(input: String, output: String)
    /// A network of another family than an option takes (`verify --plans`: nnU-Net Genesis).
    case wrongNetwork(file: String, option: String, expected: String, found: String)
    /// An nnU-Net plans file that does not say what a compatibility report needs.
    case badPlans(file: String, field: String, expected: String, found: String)

    public var description: String {
        switch self {
        case let .unknownFormat(f, r): return "\(f): unknown format: \(r)"
        case let .formatMismatch(f, a, found): return "\(f): asked to read it as \(a), but its bytes are \(found)"
        case let .notGenesis(f, r): return "\(f): not a Models Genesis network: \(r)"
        case let .otherNetwork(f, n):
            return "\(f): \(n): this command takes the Models Genesis 3D U-Net only so far (verify, inspect, run and convert take this network too)"
        case let .cannotWrite(f, r): return "\(f): cannot write: \(r)"
        case let .wrongNetwork(f, o, e, found): return "\(f): \(o) takes \(e); this file holds \(found)"
        case let .badPlans(f, field, e, found): return "\(f): \(field): expected \(e), found \(found)"
        case let .sameFile(i, o):
            return "\(o): refusing to write: it is the input file \(i) (same device and inode); choose another output path"
        }
    }
}
