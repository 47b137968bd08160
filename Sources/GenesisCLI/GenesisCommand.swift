import ArgumentParser

struct GenesisCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genesis",
        abstract: "Models Genesis weights: inspect, verify, convert, run.",
        version: "0.1.0",
        subcommands: []
    )
}
