import ArgumentParser

struct GenesisCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genesis",
        abstract: "Models Genesis weights: inspect, verify, convert and run them.",
        discussion: """
        Reads Keras 2 HDF5 (.h5), Keras 3 (.weights.h5, .keras), PyTorch (.pt, .pth), safetensors (.safetensors) and native checkpoints (.genesis). The format is chosen by the file's first bytes and extension; --format overrides.

        Every command takes --json and prints one JSON object on stdout. Exit codes: 0 ok, 1 checked and found problems, 2 unreadable input or bad usage.

        Start here:
          genesis init --base-filters 4 --out tiny.h5    # a seeded network
          genesis inspect tiny.h5                        # what a file holds
          genesis verify tiny.h5                         # what is wrong with it
          genesis convert tiny.h5 tiny.pt                # to PyTorch, with proof
          genesis cubes --out x.npy && genesis run tiny.h5 --input x.npy --output y.npy
        """,
        version: "0.1.0",
        subcommands: [InspectCommand.self, VerifyCommand.self, InitCommand.self, ArchitectureCommand.self, DiffCommand.self, ConvertCommand.self, RunCommand.self, CubesCommand.self, PretrainCommand.self, FinetuneCommand.self, PreviewCommand.self]
    )
}
