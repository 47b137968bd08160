import ArgumentParser
import Foundation
import HDF5Sandbox
import Tensors

// The sandboxed HDF5 reader (hidden: spawned by the tool itself, never listed in --help). The
// tool is its own helper, so `swift build --product genesis` alone makes a working tool;
// GENESIS_HDF5_HELPER still names another.
SandboxChild.serveIfAsked()
if ProcessInfo.processInfo.environment[SandboxHelper.variable, default: ""].isEmpty {
    SandboxHelper.processDefault = .executable("/proc/self/exe")
}

// Exit codes: 0 ok, 1 checked and found problems, 2 unreadable input or bad usage.
MemoryTuning.reuseLargeBuffers()
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
