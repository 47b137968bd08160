import Runtime3D

/// Validation metrics reported by `finetune`: Dice for segmentation, accuracy and ROC AUC for
/// classification, on predictions p (after sigmoid or softmax) and targets y (one-hot for
/// several classes), both (N, K, ...).
public enum Metrics {
    /// Hard Dice: one class, p > 0.5 against y > 0.5 over the whole set; several classes, the
    /// mean over the foreground classes 1..<K of the per-class Dice of the argmax. A class
    /// absent from both prediction and target counts as 1.
    public static func dice(_ p: FeatureMap, _ y: FeatureMap) -> Double {
        let k = p.channels, s = p.spatialCount
        func classDice(_ isPredicted: (Int, Int) -> Bool, _ isTrue: (Int, Int) -> Bool) -> Double {
            var both = 0, predicted = 0, truth = 0
            for n in 0..<p.batch {
                for v in 0..<s {
                    let a = isPredicted(n, v), b = isTrue(n, v)
                    if a { predicted += 1 }
                    if b { truth += 1 }
                    if a && b { both += 1 }
                }
            }
            return predicted + truth == 0 ? 1 : 2 * Double(both) / Double(predicted + truth)
        }
        if k == 1 {
            return classDice({ p.data[$0 * s + $1] > 0.5 }, { y.data[$0 * s + $1] > 0.5 })
        }
        func argmax(_ m: FeatureMap, _ n: Int, _ v: Int) -> Int {
            var best = 0
            for c in 1..<k where m.data[(n * k + c) * s + v] > m.data[(n * k + best) * s + v] { best = c }
            return best
        }
        let scores = (1..<k).map { c in classDice({ argmax(p, $0, $1) == c }, { argmax(y, $0, $1) == c }) }
        return scores.reduce(0, +) / Double(scores.count)
    }

    /// Fraction of samples classified right (threshold 0.5 for one class, argmax for more).
    public static func accuracy(_ p: FeatureMap, _ y: FeatureMap) -> Double {
        let k = p.channels
        var right = 0
        for n in 0..<p.batch {
            if k == 1 {
                if (p.data[n] > 0.5) == (y.data[n] > 0.5) { right += 1 }
            } else {
                let row = Array(p.data[(n * k)..<((n + 1) * k)]), truth = Array(y.data[(n * k)..<((n + 1) * k)])
                if row.indices.max(by: { row[$0] < row[$1] }) == truth.indices.max(by: { truth[$0] < truth[$1] }) { right += 1 }
            }
        }
        return Double(right) / Double(max(1, p.batch))
    }

    /// ROC AUC: one class, the probability that a positive scores above a negative (ties half,
    /// the Mann-Whitney statistic); several, the mean one-vs-rest AUC over classes present.
    /// Nil when no class has both positives and negatives.
    public static func auc(_ p: FeatureMap, _ y: FeatureMap) -> Double? {
        let k = p.channels
        func binary(_ scores: [Float], _ labels: [Bool]) -> Double? {
            let pos = zip(scores, labels).filter { $0.1 }.map(\.0), neg = zip(scores, labels).filter { !$0.1 }.map(\.0)
            guard !pos.isEmpty, !neg.isEmpty else { return nil }
            var wins = 0.0
            for a in pos { for b in neg { wins += a > b ? 1 : (a == b ? 0.5 : 0) } }
            return wins / Double(pos.count * neg.count)
        }
        if k == 1 { return binary(p.data, y.data.map { $0 > 0.5 }) }
        let per = (0..<k).compactMap { c in binary((0..<p.batch).map { p.data[$0 * k + c] }, (0..<p.batch).map { y.data[$0 * k + c] > 0.5 }) }
        return per.isEmpty ? nil : per.reduce(0, +) / Double(per.count)
    }
}
