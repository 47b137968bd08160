import Foundation

/// One timed step of a forward or backward pass, for benchmarks.
public struct LayerTiming: Sendable {
    /// Canonical module path (`down_tr64.ops.1.conv1`) or op name (`maxpool 0`).
    public let name: String
    public let seconds: Double
    /// Multiply-adds x 2 over the whole batch (every sample; 0 for ops without weights): the
    /// steps of one call add up to `Architecture.forwardFLOPs(...)` times the batch size.
    public let flops: Double
    /// Output shape.
    public let shape: [Int]
}

/// Times steps and reports them when someone listens.
final class StepClock {
    private let report: ((LayerTiming) -> Void)?
    init(report: ((LayerTiming) -> Void)?) { self.report = report }

    @discardableResult
    func step(_ name: String, flops: Double = 0, _ body: () throws -> FeatureMap) rethrows -> FeatureMap {
        try time(name, flops: flops, shape: { $0.shape }, body)
    }

    /// Runs `body`, reporting its wall time under `name` with the shape `shape` gives.
    func time<T>(_ name: String, flops: Double = 0, shape: (T) -> [Int], _ body: () throws -> T) rethrows -> T {
        guard let report else { return try body() }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let y = try body()
        let t1 = DispatchTime.now().uptimeNanoseconds
        report(LayerTiming(name: name, seconds: Double(t1 - t0) * 1e-9, flops: flops, shape: shape(y)))
        return y
    }
}
