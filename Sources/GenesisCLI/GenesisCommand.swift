import ArgumentParser
import GenesisKit

struct GenesisCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genesis",
        abstract: "Models Genesis weights: inspect, verify, convert, run, pretrain and fine-tune them.",
        discussion: """
        Reads \(FormatRegistry.all.map { "\($0.summary) (\(FormatRegistry.endings($0)))" }.joined(separator: "; ")). The format is chosen by the file's first bytes and extension; --format overrides. Writes \(FormatRegistry.describe(FormatRegistry.writable)).

        Every command takes --json and prints one JSON object on stdout. Exit codes: 0 ok, 1 checked and found problems, 2 unreadable input or bad usage.

        Start here:
          genesis init --base-filters 4 --out tiny.h5    # a seeded network
          genesis inspect tiny.h5                        # what a file holds
          genesis verify tiny.h5                         # what is wrong with it
          genesis convert tiny.h5 tiny.pt                # to PyTorch, with proof
          genesis cubes --out x.npy && genesis run tiny.h5 --input x.npy --output y.npy
          genesis pretrain --init tiny.h5 --data x.npy --steps 10 --out run.h5
          genesis finetune --init tiny.h5 --task segmentation --images x.npy --labels masks.npy --out seg.h5
        """,
        version: GenesisWriter.version,
        subcommands: [InspectCommand.self, VerifyCommand.self, InitCommand.self, ArchitectureCommand.self, DiffCommand.self, ConvertCommand.self, RunCommand.self, CubesCommand.self, PretrainCommand.self, FinetuneCommand.self, PreviewCommand.self, ZooCommand.self]
    )
}
