import ArgumentParser
import GenesisKit

// ArgumentParser appends "(values: ...)" from `allValueStrings` to an option's help: help
// strings here never list the values themselves, and the values come from FormatRegistry.
extension FormatKind: ExpressibleByArgument {
    public static var allValueStrings: [String] { FormatRegistry.all.map(\.kind.rawValue) }
}

/// A format `convert` and `init` can write: `--format` offers (and takes) only these.
struct WritableFormat: ExpressibleByArgument {
    let kind: FormatKind

    init?(argument: String) {
        guard let k = FormatKind(rawValue: argument), FormatRegistry.bridge(k).canWrite else { return nil }
        kind = k
    }

    static var allValueStrings: [String] { FormatRegistry.writable.map(\.kind.rawValue) }
    static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
}

extension Variant: ExpressibleByArgument {}

/// Options every command that reads a model takes.
struct InputOptions: ParsableArguments {
    @Option(name: .long, help: "Read the file as this format instead of guessing from its first bytes and extension.")
    var format: FormatKind?
}

/// The output format: `--format`, else OUT's extension; only writable formats.
enum OutputFormat {
    static func resolve(_ asked: WritableFormat?, path: String) throws -> FormatKind {
        if let asked { return asked.kind }
        guard let k = FormatKind.fromExtension(path) else {
            throw ValidationError("cannot tell the output format from '\(path)': use \(extensionList) or --format")
        }
        guard FormatRegistry.bridge(k).canWrite else {
            throw ValidationError("'\(path)' asks for \(k.rawValue), which genesis reads but does not write; writable: \(extensionList) (Keras 3 loads .h5 with keras.models.load_model)")
        }
        return k
    }

    /// OutputGuard for a model file: the name's ending may not ask for another format than the
    /// one written (`--format pt` into `x.h5`); an ending genesis does not know is taken with --format.
    static func check(_ path: String, writes kind: FormatKind, inputs: [String?], force: Bool) throws {
        if let named = FormatKind.fromExtension(path), named != kind {
            throw WorkflowError(subject: path, message: "the name asks for \(named.rawValue) but \(kind.rawValue) is written: name it \(OutputKind.model(kind).suggestedName(for: path)), or drop --format")
        }
        try OutputGuard.check(path, writes: .model(kind), inputs: inputs, force: force, extensionChecked: false)
    }

    static var extensionList: String { FormatRegistry.writable.flatMap(\.extensions).joined(separator: ", ") }
}
