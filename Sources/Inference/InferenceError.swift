/// Errors of whole-volume inference: a plan that cannot be made (sizes, overlap, budgets) or a
/// source, network or sink that does not keep its side of the contract.
public enum InferenceError: Error, CustomStringConvertible, Equatable {
    /// A shape, patch or overlap that no plan can take.
    case badPlan(reason: String)
    /// A size that overflows or exceeds a cap.
    case tooLarge(what: String, found: Int, limit: Int)
    /// The network returned the wrong number of values for a batch.
    case badPrediction(expected: Int, found: Int)
    /// A source or sink was given a region or slab that does not fit it.
    case badRegion(reason: String)

    public var description: String {
        switch self {
        case let .badPlan(r): return "sliding windows: \(r)"
        case let .tooLarge(w, f, l): return "sliding windows: \(w) is \(f), over the limit \(l)"
        case let .badPrediction(e, f): return "sliding windows: the network returned \(f) values for a batch, expected \(e)"
        case let .badRegion(r): return "sliding windows: \(r)"
        }
    }
}

/// Products of sizes with overflow checked against a cap.
enum CheckedSize {
    static func product(_ factors: [Int], what: String, limit: Int = Int(Int32.max) * 64) throws -> Int {
        var total = 1
        for f in factors {
            guard f >= 0 else { throw InferenceError.badPlan(reason: "\(what) has a negative side \(f)") }
            let (p, o) = total.multipliedReportingOverflow(by: f)
            guard !o, p <= limit else { throw InferenceError.tooLarge(what: what, found: o ? Int.max : p, limit: limit) }
            total = p
        }
        return total
    }
}
