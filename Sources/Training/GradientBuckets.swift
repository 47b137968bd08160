import Tensors

/// How gradient tensors are packed into a few large buffers for the all-reduce of a
/// data-parallel step (as PyTorch DDP's buckets): tensors in the order the backward pass
/// delivers them, consecutive ones in one bucket until it would pass `capacity` values; a
/// tensor larger than that gets a bucket of its own. At base 32 (19 M parameters, 76 MB) and
/// the default 4 M values (16 MiB), 64 tensors travel in 5 all-reduces instead of 64.
public struct BucketPlan: Equatable, Sendable {
    public struct Slot: Equatable, Sendable {
        public let bucket: Int
        public let offset: Int
        public let count: Int

        public init(bucket: Int, offset: Int, count: Int) {
            self.bucket = bucket
            self.offset = offset
            self.count = count
        }
    }

    /// Values per bucket.
    public let sizes: [Int]
    /// Tensor names per bucket, in order.
    public let members: [[String]]
    public let slots: [String: Slot]

    public static let defaultCapacity = 4 << 20

    public init(names: [String], counts: [Int], capacity: Int = BucketPlan.defaultCapacity) {
        precondition(names.count == counts.count && capacity >= 1, "bucket plan: one count per name, capacity >= 1")
        var sizes: [Int] = [], members: [[String]] = [], slots: [String: Slot] = [:]
        for (name, count) in zip(names, counts) {
            if sizes.isEmpty || (sizes[sizes.count - 1] > 0 && sizes[sizes.count - 1] + count > capacity) {
                sizes.append(0)
                members.append([])
            }
            let b = sizes.count - 1
            slots[name] = Slot(bucket: b, offset: sizes[b], count: count)
            sizes[b] += count
            members[b].append(name)
        }
        self.sizes = sizes
        self.members = members
        self.slots = slots
    }
}

/// The gradient all-reduce of a data-parallel step: gradients handed over as the backward pass
/// makes them (`deliver`) are copied into their bucket; a bucket whose tensors have all arrived
/// starts its sum at once (buckets start in plan order, the same on every rank), so the first
/// buckets travel while the backward pass computes the rest. `finish` starts what is left,
/// waits, and returns the gradients averaged over the ranks (sum / N).
public final class GradientReducer: @unchecked Sendable {
    public let collectives: any Collectives
    public let plan: BucketPlan
    private let buffers: [UnsafeMutablePointer<Float>]
    private var arrived: [Int]
    private var delivered: Set<String> = []
    private var requests: [Int?]
    private var nextToStart = 0

    /// `names` in the order the backward pass delivers their gradients, `counts` their sizes.
    public init(collectives: any Collectives, names: [String], counts: [Int], capacity: Int = BucketPlan.defaultCapacity) {
        self.collectives = collectives
        plan = BucketPlan(names: names, counts: counts, capacity: capacity)
        buffers = plan.sizes.map { n in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n))
            p.initialize(repeating: 0, count: max(1, n))
            return p
        }
        arrived = Array(repeating: 0, count: plan.sizes.count)
        requests = Array(repeating: nil, count: plan.sizes.count)
    }

    deinit { for b in buffers { b.deallocate() } }

    /// Buckets of the last step that started during the backward pass (before `finish`).
    public private(set) var startedEarly = 0

    /// Takes one tensor's gradient; may start bucket sums.
    public func deliver(_ name: String, _ values: [Float]) throws {
        guard let slot = plan.slots[name], !delivered.contains(name) else { return }
        precondition(values.count == slot.count, "gradient \(name): \(values.count) values, the plan has \(slot.count)")
        values.withUnsafeBufferPointer { src in (buffers[slot.bucket] + slot.offset).update(from: src.baseAddress!, count: slot.count) }
        delivered.insert(name)
        arrived[slot.bucket] += 1
        try startReady()
        try collectives.progress()
    }

    private func startReady() throws {
        while nextToStart < plan.sizes.count, arrived[nextToStart] == plan.members[nextToStart].count {
            requests[nextToStart] = try collectives.startSum(buffers[nextToStart], count: plan.sizes[nextToStart])
            nextToStart += 1
        }
    }

    /// Every planned gradient averaged over the ranks: those not delivered are taken from
    /// `gradients` (a model without a streaming backward hands them all over here).
    public func finish(_ gradients: TensorStore) throws -> TensorStore {
        startedEarly = nextToStart
        for names in plan.members {
            for name in names where !delivered.contains(name) {
                guard let t = gradients[name] else {
                    throw TrainingError.ranksDisagree(rank: collectives.rank, what: "no gradient for \(name)")
                }
                try deliver(name, t.floats())
            }
        }
        try startReady()
        var out = gradients
        let scale = 1 / Float(collectives.ranks)
        for (b, names) in plan.members.enumerated() {
            if let r = requests[b] { try collectives.wait(r) }
            for name in names {
                let slot = plan.slots[name]!
                let values = [Float](unsafeUninitializedCapacity: slot.count) { dst, n in
                    let src = buffers[b] + slot.offset
                    for i in 0..<slot.count { dst[i] = src[i] * scale }
                    n = slot.count
                }
                let shape = gradients[name]?.shape ?? [slot.count]
                out[name] = Tensor(shape: shape, floats: values)
            }
        }
        arrived = Array(repeating: 0, count: plan.sizes.count)
        requests = Array(repeating: nil, count: plan.sizes.count)
        delivered = []
        nextToStart = 0
        return out
    }

    /// Bytes one rank hands to the all-reduce per step (float32 gradients).
    public var bytesPerStep: Int { plan.sizes.reduce(0, +) * 4 }
}
