import ArgumentParser
import Foundation
import GenesisKit

// The sandboxed HDF5 reader (hidden, never listed in --help): `GENESIS_HDF5_HELPER=genesis` may
// name the tool as its own reader. By default the sandbox runs `genesis-hdf5-helper` beside the
// tool, else a fork of it (SandboxHelper.automatic).
SandboxChild.serveIfAsked()

// Exit codes: 0 ok, 1 checked and found problems, 2 unreadable input or bad usage.
MemoryTuning.reuseLargeBuffers()
// `genesis --version`: the version, the commit and the libraries' versions (BuildInfo), more
// than ArgumentParser's one line.
if CommandLine.arguments.dropFirst() == ["--version"] {
    print(BuildInfo.text())
    exit(0)
}
do {
    var command = try GenesisCommand.parseAsRoot()
    try command.run()
} catch let exit as ExitCode {
    Foundation.exit(exit.rawValue)
} catch {
    let code = GenesisCommand.exitCode(for: error)
    if code == .success {  // --help, --version
        GenesisCommand.exit(withError: error)
    }
    let isUsage = code == .validationFailure
    // ArgumentParser's own text starts with "Error: "; our line already says "error:".
    var message = isUsage ? GenesisCommand.fullMessage(for: error) : "\(error)"
    if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
    if isUsage { message = CLIOutput.selfSufficientUsage(message) }
    CLIOutput.fail(message: message, usage: isUsage)
}
