import ArgumentParser
import Foundation
import Tensors

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
    let message = isUsage ? GenesisCommand.fullMessage(for: error) : "\(error)"
    CLIOutput.fail(message: message, usage: isUsage)
}
