import GenesisModel
import Tensors
import Training
import XCTest

/// The bucketing of the gradient all-reduce and the data shards, by hand-worked cases.
final class BucketPlanTests: XCTestCase {
    func testConsecutiveTensorsFillBucketsUpToTheCapacity() {
        // Capacity 10: [4, 5] fit (9), 3 would pass 10 -> new bucket [3, 6] (9), 12 alone (over
        // the capacity: a bucket of its own), then [1].
        let plan = BucketPlan(names: ["a", "b", "c", "d", "e", "f"], counts: [4, 5, 3, 6, 12, 1], capacity: 10)
        XCTAssertEqual(plan.sizes, [9, 9, 12, 1])
        XCTAssertEqual(plan.members, [["a", "b"], ["c", "d"], ["e"], ["f"]])
        XCTAssertEqual(plan.slots["b"], BucketPlan.Slot(bucket: 0, offset: 4, count: 5))
        XCTAssertEqual(plan.slots["d"], BucketPlan.Slot(bucket: 1, offset: 3, count: 6))
        XCTAssertEqual(plan.slots["f"], BucketPlan.Slot(bucket: 3, offset: 0, count: 1))
    }

    func testTheBaseThirtyTwoNetworkTravelsInAFewBuckets() throws {
        // The official network (base 32, torch variant): 64 trainable tensors, 19.07 M values.
        let arch = Architecture(variant: .torch, baseFilters: 32, labels: 1)
        let trainable = arch.tensors.filter { $0.role.isTrainable }.reversed()
        let plan = BucketPlan(names: trainable.map(\.name), counts: trainable.map(\.elementCount))
        let total = trainable.map(\.elementCount).reduce(0, +)
        XCTAssertEqual(trainable.count, 64)
        XCTAssertEqual(plan.sizes.reduce(0, +), total)
        XCTAssertLessThanOrEqual(plan.sizes.count, 8, "\(plan.sizes)")
        XCTAssertGreaterThanOrEqual(plan.sizes.count, total / BucketPlan.defaultCapacity)
        // Every tensor in exactly one bucket, the order kept.
        XCTAssertEqual(plan.members.flatMap { $0 }, trainable.map(\.name))
    }

    func testOneProcessReducerReturnsTheGradientsAndStartsBucketsDuringTheBackwardPass() throws {
        let r = GradientReducer(collectives: SingleProcess(), names: ["z", "y", "x"], counts: [2, 2, 3], capacity: 4)
        XCTAssertEqual(r.plan.sizes, [4, 3])
        var g = TensorStore()
        g["x"] = Tensor(shape: [3], floats: [1, 2, 3])
        g["y"] = Tensor(shape: [2, 1], floats: [4, 5])
        g["z"] = Tensor(shape: [2], floats: [6, 7])
        // z and y delivered: the first bucket is complete and starts before finish.
        try r.deliver("z", [6, 7])
        try r.deliver("y", [4, 5])
        let out = try r.finish(g)
        XCTAssertEqual(r.startedEarly, 1)
        XCTAssertEqual(out["x"]?.floats(), [1, 2, 3])
        XCTAssertEqual(out["y"]?.floats(), [4, 5])
        XCTAssertEqual(out["y"]?.shape, [2, 1])
        XCTAssertEqual(out["z"]?.floats(), [6, 7])
        XCTAssertEqual(r.bytesPerStep, 28)
    }

    func testFileOrderShardsTakeTheSlicesOfOneProcesssBatches() {
        // 10 cubes, global batch 4, 2 ranks: 2 steps per epoch; rank 0 takes 0,1 | 4,5, rank 1 2,3 | 6,7.
        let r0 = DataShard(rank: 0, ranks: 2), r1 = DataShard(rank: 1, ranks: 2)
        XCTAssertEqual(r0.cubes(count: 10, batch: 4, shuffle: false), [0, 1, 4, 5])
        XCTAssertEqual(r1.cubes(count: 10, batch: 4, shuffle: false), [2, 3, 6, 7])
        for step in 0..<5 {
            let one = CubeSet.indices(step: step, batch: 4, count: 10, shuffle: false, seed: 0)
            let both = r0.indices(step: step, batch: 4, count: 10, shuffle: false, seed: 0) + r1.indices(step: step, batch: 4, count: 10, shuffle: false, seed: 0)
            XCTAssertEqual(both, one, "step \(step)")
            XCTAssertEqual(r1.firstSlot(step: step, batch: 4), step * 4 + 2)
        }
    }

    func testShuffledShardsAreDisjointSeededAndStayInTheirShard() {
        let shards = (0..<3).map { DataShard(rank: $0, ranks: 3) }
        XCTAssertEqual(shards[1].cubes(count: 10, batch: 6, shuffle: true), [1, 4, 7])
        for step in 0..<4 {
            let parts = shards.map { $0.indices(step: step, batch: 6, count: 10, shuffle: true, seed: 9) }
            XCTAssertEqual(parts.map(\.count), [2, 2, 2])
            XCTAssertEqual(Set(parts.flatMap { $0 }).count, 6, "step \(step): \(parts)")
            for (r, p) in parts.enumerated() { XCTAssertTrue(p.allSatisfy { $0 % 3 == r }) }
            XCTAssertEqual(parts[2], shards[2].indices(step: step, batch: 6, count: 10, shuffle: true, seed: 9))
        }
        // Another epoch, another order (10 cubes / 6 = 1 step per epoch).
        let epochs = (0..<6).map { shards[0].indices(step: $0, batch: 6, count: 10, shuffle: true, seed: 9) }
        XCTAssertGreaterThan(Set(epochs).count, 1)
    }
}
