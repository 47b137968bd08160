// swift-tools-version:5.9
// The `genesis` tool and library: Models Genesis weights in every format, verified and run.
// Targets are layered by concern; imports only point down (see README "Layout").
import PackageDescription

let package = Package(
    name: "genesis",
    products: [
        .executable(name: "genesis", targets: ["GenesisCLI"]),
        .executable(name: "genesis-fuzz", targets: ["FuzzDriver"]),
        // What a program needs: load, verify, convert with proof, run, train, read volumes, the zoo.
        .library(name: "GenesisKit", targets: ["GenesisKit"]),
        // Data-parallel training over MPI (Open MPI 3-5, loaded at run time under mpirun/srun).
        .library(name: "GenesisDistributed", targets: ["Distributed"]),
        // The HDF5 sandbox's reader process, found by a program next to itself (SandboxHelper).
        .executable(name: "genesis-hdf5-helper", targets: ["GenesisHDF5Helper"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        // The runtime library only (the ONNX messages are generated once and committed:
        // scripts/gen_onnx_proto.sh); the protoc plugin is never built here.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // System libraries, each behind a small C shim.
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5-serial", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "SystemZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        // Open MPI, loaded with dlopen by the data-parallel commands only (nothing links libmpi,
        // so the tool and its release run where no MPI is installed): Sources/CMPI/include/cmpi.h.
        .target(name: "CMPI", linkerSettings: [.linkedLibrary("dl")]),

        // Data model shared by every format and the runtime.
        .target(name: "CMallocTuning"),
        // libnifti2-dev (scripts/setup.sh) ships no pkg-config file and its headers include
        // <znzlib.h> from /usr/include/nifti/: a C target whose public include directory forwards
        // that header, so every importer resolves it without an include path.
        .target(name: "CNIfTI", linkerSettings: [.linkedLibrary("nifti2"), .linkedLibrary("znz"), .linkedLibrary("z")]),
        .target(name: "Tensors", dependencies: ["CMallocTuning", .product(name: "Crypto", package: "swift-crypto")]),
        // The names of the formats and frameworks: the one table every other list comes from.
        .target(name: "FormatNames"),

        // File formats: each imports Tensors and its own library, never the runtime.
        .target(name: "HDF5", dependencies: ["CHDF5", "Tensors"]),
        // A bounded check of zip archives before ZIPFoundation reads them (ZIP64 refused).
        .target(name: "ZipPreflight", dependencies: ["ZIPFoundation"]),
        .target(name: "KerasFormat", dependencies: ["HDF5", "Tensors", "ZIPFoundation", "ZipPreflight"]),
        // libhdf5 in a child process with limits: every HDF5 file the tool did not just write.
        .target(name: "CSandbox"),
        .target(name: "HDF5Sandbox", dependencies: ["CSandbox", "HDF5", "KerasFormat", "Tensors"]),
        // `genesis-hdf5-helper`: the sandbox's reader process for any program using the library.
        .executableTarget(name: "GenesisHDF5Helper", dependencies: ["HDF5Sandbox"]),
        .target(name: "TorchFormat", dependencies: ["Tensors", "ZIPFoundation", "ZipPreflight", "SystemZlib"]),
        .target(name: "SafeTensors", dependencies: ["Tensors"]),
        // ONNX models: the messages of onnx.proto3 (ONNX v1.17.0, generated, committed) and a
        // checked reader and writer of the graphs genesis exports.
        .target(name: "ONNXFormat", dependencies: ["Tensors", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(name: "NativeCheckpoint", dependencies: ["FormatNames", "SafeTensors", "Tensors", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "VolumeIO", dependencies: ["Tensors", "CPNG", "CNIfTI", "SystemZlib"]),

        // The network as data: architecture, name maps, detection, verification.
        .target(name: "GenesisModel", dependencies: ["FormatNames", "Tensors"]),
        // Format dispatch: any supported file -> canonical Genesis tensors, and back.
        .target(name: "GenesisIO", dependencies: [
            "FormatNames", "Tensors", "GenesisModel", "HDF5", "KerasFormat", "HDF5Sandbox", "TorchFormat", "SafeTensors", "NativeCheckpoint", "ONNXFormat",
        ]),
        // The 3D runtime: ops on OpenBLAS and the Genesis network. Never opens a file.
        // The precise GEMM's loops (fixed order, float64): C, fast enough in debug builds too.
        .target(name: "CPreciseGEMM"),
        .target(name: "Runtime3D", dependencies: ["CBLAS", "CPreciseGEMM", "Tensors", "GenesisModel"]),

        // Whole-volume inference: sliding windows, Gaussian blending, slab streaming. Never opens a file.
        .target(name: "Inference", dependencies: ["Runtime3D", "Tensors"]),

        // The Models Genesis transforms (pretext tasks), seeded.
        .target(name: "Pretext", dependencies: ["Tensors"]),
        // The model zoo: manifests, the content-addressed cache, its locks, checked downloads.
        // Imports neither the formats nor the runtime.
        .target(name: "Zoo", dependencies: ["FormatNames", "Tensors"]),
        // Training: losses, optimizers, schedules, the loop and its checkpoints.
        .target(name: "Training", dependencies: ["Tensors", "GenesisModel", "GenesisIO", "Runtime3D", "Pretext"]),

        // Data-parallel training over MPI: the Collectives and BatchNormReducer of Training and Runtime3D.
        .target(name: "Distributed", dependencies: ["CMPI", "GenesisKit", "Training", "Runtime3D"]),

        // The commit a release was built from (linked in by `make dist`; see cbuildinfo.h).
        .target(name: "CBuildInfo"),
        // The library programs use: the workflows of the commands (conversion with its proof,
        // whole-scan runs, training sessions, fine-tuning data, cubes, previews), every layer re-exported.
        .target(name: "GenesisKit", dependencies: [
            "CBuildInfo", "HDF5", "Tensors", "FormatNames", "GenesisModel", "GenesisIO", "HDF5Sandbox", "Runtime3D", "VolumeIO", "Pretext", "Training", "Zoo", "Inference", "ONNXFormat",
        ]),

        .executableTarget(name: "GenesisCLI", dependencies: [
            "GenesisKit", "Tensors", "GenesisModel", "GenesisIO", "Runtime3D", "VolumeIO", "HDF5", "KerasFormat", "HDF5Sandbox", "Pretext", "Training", "Zoo", "Distributed", "Inference",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The parsers under libFuzzer (`make fuzz`, RELIABILITY.md); a replayer in normal builds.
        .target(name: "FuzzTargets", dependencies: ["TorchFormat", "SafeTensors", "NativeCheckpoint", "VolumeIO", "KerasFormat", "ONNXFormat"]),
        .executableTarget(name: "FuzzDriver", dependencies: ["FuzzTargets"]),
        .executableTarget(name: "GenesisBench", dependencies: ["Tensors", "GenesisModel", "Runtime3D", "GenesisIO", "KerasFormat", "HDF5Sandbox"]),

        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5", "Tensors", "TestSupport"]),
        .testTarget(name: "KerasFormatTests", dependencies: ["KerasFormat", "HDF5", "Tensors", "TestSupport"]),
        .testTarget(name: "TorchFormatTests", dependencies: ["TorchFormat", "ZipPreflight", "KerasFormat", "Tensors", "HDF5", "TestSupport"]),
        .testTarget(name: "GenesisModelTests", dependencies: ["GenesisModel", "GenesisIO", "KerasFormat", "Tensors", "TestSupport"]),
        .testTarget(name: "GenesisIOTests", dependencies: ["FormatNames", "GenesisIO", "GenesisModel", "KerasFormat", "TorchFormat", "Runtime3D", "HDF5", "Tensors", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "KerasFormat", "Tensors", "VolumeIO", "GenesisIO", "GenesisModel", "TorchFormat", "HDF5"]),
        .testTarget(name: "HDF5SandboxTests", dependencies: ["HDF5Sandbox", "GenesisHDF5Helper", "KerasFormat", "GenesisIO", "Tensors", "TestSupport"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors", "Tensors", "TestSupport"]),
        .testTarget(name: "NativeCheckpointTests", dependencies: ["FormatNames", "NativeCheckpoint", "SafeTensors", "Tensors", "TestSupport"]),
        .testTarget(name: "Runtime3DTests", dependencies: ["Runtime3D", "GenesisModel", "Tensors", "HDF5", "KerasFormat", "TorchFormat", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["FormatNames", "Training", "GenesisIO", "GenesisModel", "Runtime3D", "HDF5", "Tensors", "TestSupport"]),
        .testTarget(name: "VolumeIOTests", dependencies: ["VolumeIO", "Tensors", "TestSupport"]),
        .testTarget(name: "DistributedTests", dependencies: ["CMPI", "Training", "Runtime3D", "GenesisModel", "GenesisIO", "VolumeIO", "Tensors", "TestSupport"]),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "Runtime3D", "GenesisModel", "Tensors", "TestSupport"]),
        .testTarget(name: "PretextTests", dependencies: ["Pretext", "VolumeIO", "Tensors", "TestSupport"]),
        .testTarget(name: "ZooTests", dependencies: ["FormatNames", "Zoo", "TestSupport", "Tensors", "GenesisIO"]),
        .testTarget(name: "GenesisKitTests", dependencies: ["GenesisKit", "HDF5", "TestSupport"]),
        .testTarget(name: "FuzzTargetsTests", dependencies: ["FuzzTargets", "TestSupport"]),
        .target(name: "TestSupport", dependencies: ["Tensors", "HDF5", "GenesisModel"], path: "Tests/TestSupport"),
    ]
)
