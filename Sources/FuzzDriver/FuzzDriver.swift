// The fuzz driver, one binary for every target (`FuzzTarget`), chosen by GENESIS_FUZZ_TARGET.
//
// Fuzz build (`make fuzz`, scripts/fuzz_run.sh): `-sanitize=fuzzer,address -DGENESIS_FUZZ`;
// `main` hands the command line to libFuzzer (`LLVMFuzzerRunDriver`), which calls
// `fuzzOneInput` per input. (SwiftPM links an executable's entry point as `main` itself, so
// libFuzzer's own `main` cannot be used; its driver entry is the documented alternative.)
// Normal build: the same file is a replayer, `genesis-fuzz TARGET FILE...`, which runs saved
// inputs (a crash, a corpus) through one target without the fuzzer and says what each did.
import Foundation
import FuzzTargets

/// What the fuzz build's entry point works with, made on its first call (a `static let` is
/// lazy; a global in this file would run at start in the replayer too).
enum FuzzSession {
    /// The target named by GENESIS_FUZZ_TARGET; read once.
    static let target: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["GENESIS_FUZZ_TARGET"] ?? ""
        guard let t = FuzzTarget(rawValue: name) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("genesis-fuzz: set GENESIS_FUZZ_TARGET to one of: \(names) (found '\(name)')\n".utf8))
            exit(2)
        }
        return t
    }()

    /// The zip target's file (this process's own, in /dev/shm).
    static let scratch = ScratchFile()
}

/// One input: a trap (or a foreign error, made a trap by `check`) is what the fuzzer reports.
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = (data == nil || size == 0) ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    FuzzSession.target.check(bytes, scratch: FuzzSession.scratch)
    return 0
}

/// `genesis-fuzz TARGET FILE...`: exit 0 when every input was accepted or refused with the
/// module's own error, 1 when one escaped with a foreign error, 2 on bad usage.
func replay(_ args: [String]) -> Int32 {
    let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
    guard args.count >= 2, let target = FuzzTarget(rawValue: args[0]) else {
        print("usage: genesis-fuzz \(names) FILE...   (replays saved inputs through one fuzz target)")
        return 2
    }
    let scratch = ScratchFile()
    var worst: Int32 = 0
    for path in args.dropFirst() {
        guard let data = FileManager.default.contents(atPath: path) else {
            print("\(path): cannot read")
            worst = 2
            continue
        }
        switch target.run(Array(data), scratch: scratch) {
        case .accepted: print("\(path): accepted")
        case let .refused(why): print("\(path): refused: \(why.prefix(300))")
        case let .foreignError(why):
            print("\(path): FOREIGN ERROR: \(why.prefix(300))")
            worst = max(worst, 1)
        }
    }
    return worst
}

#if GENESIS_FUZZ
/// libFuzzer's driver (compiler-rt `FuzzerInterface.h`): parses its flags, then runs the callback.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
#endif

@main
enum Driver {
    static func main() {
        #if GENESIS_FUZZ
        _ = FuzzSession.target  // an unset or unknown target stops here, before libFuzzer starts
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
        #else
        exit(replay(Array(CommandLine.arguments.dropFirst())))
        #endif
    }
}
