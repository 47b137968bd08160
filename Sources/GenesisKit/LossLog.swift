import Foundation

/// A training log of JSON lines, as `genesis preview --log` reads it: a line with numbers
/// `"step"` and `"loss"` is a training step; a line with `"epoch"` and a number `"validation"`
/// is a validation point (a line may be both). Other objects are ignored. `NaN` and
/// `Infinity` (which Python's json writes) are read as non-finite values and counted, not drawn.
public struct LossLog {
    public struct Point {
        public var x: Double
        public var y: Double
        public init(x: Double, y: Double) {
            self.x = x
            self.y = y
        }
    }

    public var training: [Point] = []
    /// Validation points: x is the step where the epoch ended (see `placement`).
    public var validation: [Point] = []
    public var validationEpochs: [Double] = []
    /// How validation points were placed on the step axis: "step" (their lines say),
    /// "epoch_end" (the last training step of that epoch), "even" (spread evenly over the
    /// steps: neither says), or "epoch" (no training steps: the axis is epochs).
    public var placement = "step"
    public var nonFinite = 0
    /// Line numbers (1-based) that are not JSON objects.
    public var badLines: [Int] = []
    /// The last line had no newline and did not parse: a write in progress, ignored.
    public var partialLastLine = false

    public static func read(_ path: String) throws -> LossLog {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WorkflowError(subject: path, message: "cannot read the log")
        }
        return parse(String(decoding: data, as: UTF8.self))
    }

    public static func parse(_ text: String) -> LossLog {
        var log = LossLog()
        var trainingEpochs: [(epoch: Double, step: Double)] = []
        var pending: [(epoch: Double, value: Double, step: Double?)] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (n, raw) in lines.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let cleaned = line.replacingOccurrences(of: "-Infinity", with: "null")
                .replacingOccurrences(of: "Infinity", with: "null").replacingOccurrences(of: "NaN", with: "null")
            guard let object = (try? JSONSerialization.jsonObject(with: Data(cleaned.utf8))) as? [String: Any] else {
                if n == lines.count - 1, !text.hasSuffix("\n") { log.partialLastLine = true } else { log.badLines.append(n + 1) }
                continue
            }
            let step = number(object["step"]), epoch = number(object["epoch"])
            if let step, object.keys.contains("loss") {
                if let loss = number(object["loss"]), loss.isFinite { log.training.append(Point(x: step, y: loss)) } else { log.nonFinite += 1 }
                if let epoch { trainingEpochs.append((epoch, step)) }
            }
            if let epoch, object.keys.contains("validation") {
                if let v = number(object["validation"]), v.isFinite { pending.append((epoch, v, step)) } else { log.nonFinite += 1 }
            }
        }
        log.place(pending, trainingEpochs: trainingEpochs)
        return log
    }

    private mutating func place(_ pending: [(epoch: Double, value: Double, step: Double?)], trainingEpochs: [(epoch: Double, step: Double)]) {
        validationEpochs = pending.map(\.epoch)
        guard !pending.isEmpty else { return }
        if training.isEmpty {
            placement = "epoch"
            validation = pending.map { Point(x: $0.epoch, y: $0.value) }
        } else if pending.allSatisfy({ $0.step != nil }) {
            placement = "step"
            validation = pending.map { Point(x: $0.step!, y: $0.value) }
        } else if !trainingEpochs.isEmpty {
            placement = "epoch_end"
            var lastStep: [Double: Double] = [:]
            for t in trainingEpochs { lastStep[t.epoch] = max(lastStep[t.epoch] ?? -.infinity, t.step) }
            let known = lastStep.keys.sorted()
            validation = pending.map { p in
                let e = known.last { $0 <= p.epoch } ?? known[0]
                return Point(x: lastStep[e]!, y: p.value)
            }
        } else {
            placement = "even"
            let first = training.map(\.x).min()!, last = training.map(\.x).max()!
            let epochs = Array(Set(pending.map(\.epoch))).sorted()
            validation = pending.map { p in
                let k = Double(epochs.firstIndex(of: p.epoch)! + 1)
                return Point(x: first + (last - first) * k / Double(epochs.count), y: p.value)
            }
        }
    }

    private static func number(_ v: Any?) -> Double? {
        guard let n = v as? NSNumber else { return nil }  // (on Linux 0 and 1 also read as Bool: no Bool check)
        return n.doubleValue
    }

    /// Exponential moving average with bias correction (as TensorBoard's smoothing).
    public static func smoothed(_ points: [Point], weight: Double) -> [Point] {
        var average = 0.0, correction = 1.0
        return points.map { p in
            average = weight * average + (1 - weight) * p.y
            correction *= weight
            return Point(x: p.x, y: correction < 1 ? average / (1 - correction) : p.y)
        }
    }
}
