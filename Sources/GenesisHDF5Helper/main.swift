// `genesis-hdf5-helper`: the HDF5 sandbox's reader process for programs that use the library
// (`SandboxHelper`). Started by the library as `genesis-hdf5-helper __read-hdf5 ...`, the same
// protocol as `genesis __read-hdf5 ...`; it does nothing else.
import Foundation
import HDF5Sandbox

SandboxChild.serveIfAsked()
FileHandle.standardError.write(Data("""
    \(SandboxHelper.executableName): the sandboxed HDF5 reader of the genesis library; the library starts it \
    (SandboxHelper.automatic finds it beside the program, or name it with \(SandboxHelper.variable)); it is not run by hand

    """.utf8))
exit(2)
