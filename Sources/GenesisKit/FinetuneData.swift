import Foundation
import Runtime3D
import Tensors
import Training
import VolumeIO

/// The images and labels of `genesis finetune`: the seeded validation split, the training set
/// (in a data-parallel run, this rank's shard of it, only its rows read from the files) and the
/// held-out set rank 0 reports on, with the class count.
public struct FinetuneData {
    public var train: TrainingData
    public var validation: (FeatureMap, FeatureMap)?
    public var classes: Int

    public typealias Targets = (Tensor, Int?, String) throws -> (targets: Tensor, classes: Int)

    /// The seeded split of `count` images: a fraction `split` held out (rounded up), both sorted.
    public static func split(count: Int, fraction: Double, seed: UInt64) -> (train: [Int], validation: [Int]) {
        let order = CubeSet.indices(step: 0, batch: count, count: count, shuffle: true, seed: seed ^ 0x5E11)
        let held = Int((Double(count) * fraction).rounded(.up))
        return (Array(order[..<(count - held)]).sorted(), Array(order[(count - held)...]).sorted())
    }

    /// One process: every image and label read.
    public static func whole(images: String, labels: String, spatial: [Int]?, classes: Int?, targets: Targets,
                      segmentation: Bool, split fraction: Double, seed: UInt64) throws -> FinetuneData {
        let x = try TrainingSession.cubes(images, expect: spatial)
        let t = try targets(try NPY.read(labels), classes, labels)
        try check(t.targets, images: x.count, spatial: x.spatial, segmentation: segmentation, labels: labels)
        let y = try CubeSet(t.targets)
        let (train, held) = split(count: x.count, fraction: fraction, seed: seed)
        let validation = held.isEmpty ? nil : (try x.batch(held), try y.batch(held))
        return FinetuneData(train: try TrainingData(inputs: try x.subset(train), targets: try y.subset(train)),
                            validation: validation, classes: t.classes)
    }

    /// One rank of N: the headers give the counts and the split; the rank reads the rows of its
    /// shard of the training split (rank 0 the held-out rows too). The class count comes from
    /// the whole label file (read in chunks, not held) so that every rank finds the one a single
    /// process finds.
    public static func shard(images: String, labels: String, spatial: [Int]?, classes: Int?, targets: Targets, segmentation: Bool,
                      split fraction: Double, seed: UInt64, ranks: any TrainingRankContext, batch: Int, shuffle: Bool) throws -> FinetuneData {
        let files = try CubeFiles(images)
        let header = try NPY.header(labels)
        guard header.shape.first == files.total else {
            throw WorkflowError(subject: labels, message: "\(header.shape.first ?? 0) labels for \(files.total) images")
        }
        let k = try classes ?? classCount(labels, header: header, segmentation: segmentation)
        let (train, held) = split(count: files.total, fraction: fraction, seed: seed)
        let mine = ranks.shard.cubes(count: train.count, batch: batch, shuffle: shuffle)
        func read(_ rows: [Int]) throws -> (Tensor, Tensor) {
            guard let x = try files.read(rows: rows, expect: spatial) else {
                throw WorkflowError(subject: images, message: "\(train.count) training images leave rank \(ranks.rank) of \(ranks.count) none at batch \(batch): give more images or fewer ranks")
            }
            let t = try targets(try NPY.readRows(labels, rows: rows), k, labels).targets
            try check(t, images: rows.count, spatial: Array(x.shape[2...]), segmentation: segmentation, labels: labels)
            return (x, t)
        }
        let (x, y) = try read(mine.map { train[$0] })
        let inputs = try CubeSet(x, globalIndices: mine, totalCount: train.count)
        let labelled = try CubeSet(y, globalIndices: mine, totalCount: train.count)
        var validation: (FeatureMap, FeatureMap)?
        if ranks.isRoot, !held.isEmpty {
            let (vx, vy) = try read(held)
            validation = (try CubeSet(vx).batch(Array(0..<held.count)), try CubeSet(vy).batch(Array(0..<held.count)))
        }
        return FinetuneData(train: try TrainingData(inputs: inputs, targets: labelled), validation: validation, classes: k)
    }

    /// The class count of a label file as one process finds it from the whole array: a
    /// channel axis gives it; class indices give their largest value + 1 (1 for a 0/1 mask),
    /// read in chunks of 16 MiB that are not kept.
    public static func classCount(_ labels: String, header: NPYHeader, segmentation: Bool) throws -> Int {
        if header.shape.count == (segmentation ? 5 : 2) { return header.shape[1] }
        let n = max(1, header.shape.first ?? 0)
        let rowBytes = max(1, header.dataBytes / n), chunk = max(1, (16 << 20) / rowBytes)
        var k = 1
        for start in stride(from: 0, to: n, by: chunk) {
            let rows = try NPY.readRows(labels, rows: Array(start..<min(n, start + chunk)))
            k = max(k, FinetuneSupport.inferredClasses(try FinetuneSupport.finiteLabels(rows, file: labels)))
        }
        return k
    }

    public static func check(_ t: Tensor, images: Int, spatial: [Int], segmentation: Bool, labels: String) throws {
        guard t.shape[0] == images else { throw WorkflowError(subject: labels, message: "\(t.shape[0]) labels for \(images) images") }
        if segmentation, Array(t.shape[2...]) != spatial {
            throw WorkflowError(subject: labels, message: "label volumes of \(Array(t.shape[2...])), the images are \(spatial)")
        }
    }
}
