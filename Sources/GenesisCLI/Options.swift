import ArgumentParser
import GenesisIO
import GenesisModel

extension FormatKind: ExpressibleByArgument {
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

extension Variant: ExpressibleByArgument {}

/// Options every command that reads a model takes.
struct InputOptions: ParsableArguments {
    @Option(name: .long, help: "Read the file as this format instead of guessing (\(FormatKind.allCases.map(\.rawValue).joined(separator: ", "))).")
    var format: FormatKind?
}
