import Foundation
import Inference
import Tensors
import VolumeIO

/// Writes the blender's k-slabs into a NIfTI through `NIfTISlabWriter`, in bounded memory.
/// One channel goes straight to the file. A NIfTI of shape (I, J, K, C) stores all of channel 0
/// before channel 1, while slabs arrive with every channel, so channels 1... are spooled to
/// temporary files beside the output and copied in, slab by slab, by `finish`.
public final class NIfTIChannelSink: SlabSink {
    private let writer: NIfTISlabWriter
    private let channels: Int
    private let plane: Int
    private let depth: Int
    private var spools: [(path: String, handle: FileHandle)] = []

    public init(path: String, shape: [Int], channels: Int, geometry: VolumeGeometry, description: String) throws {
        writer = try NIfTISlabWriter(path: path, shape: shape, geometry: geometry, description: description)
        self.channels = channels
        plane = shape[0] * shape[1]
        depth = shape[2]
        for c in 1..<max(channels, 1) {
            // Registered like every temporary: removed on SIGINT/SIGTERM and by the stale sweep.
            let spool = FileIO.temporaryPath(beside: path, suffix: ".channel\(c)")
            guard FileManager.default.createFile(atPath: spool, contents: nil), let h = FileHandle(forUpdatingAtPath: spool) else {
                discard()
                throw WorkflowError(subject: spool, message: "cannot create a temporary file for output channel \(c)")
            }
            spools.append((spool, h))
        }
    }

    public func append(k: Int, channels c: Int, slab: UnsafeBufferPointer<Float>) throws {
        guard c == channels, slab.count == c * plane else {
            throw WorkflowError(subject: "output", message: "slab k=\(k) has \(slab.count) values, expected \(channels * plane)")
        }
        try writer.append(UnsafeBufferPointer(rebasing: slab[0..<plane]))
        for (n, spool) in spools.enumerated() {
            let part = UnsafeBufferPointer(rebasing: slab[((n + 1) * plane)..<((n + 2) * plane)])
            try spool.handle.write(contentsOf: Data(buffer: part))
        }
    }

    /// Copies the spooled channels in and commits the file.
    public func finish() throws {
        for spool in spools {
            try spool.handle.seek(toOffset: 0)
            for k in 0..<depth {
                guard let data = try spool.handle.read(upToCount: plane * 4), data.count == plane * 4 else {
                    throw WorkflowError(subject: spool.path, message: "spooled channel ended early at slab \(k)")
                }
                try data.withUnsafeBytes { try writer.append($0.bindMemory(to: Float.self)) }
            }
        }
        try writer.finish()
        removeSpools()
    }

    /// Drops the spools; an unfinished writer leaves no output.
    public func discard() {
        removeSpools()
    }

    private func removeSpools() {
        for spool in spools {
            try? spool.handle.close()
            FileIO.removeTemporary(spool.path)
        }
        spools = []
    }
}
