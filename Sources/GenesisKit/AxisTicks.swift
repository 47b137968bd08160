import Foundation

/// Tick positions and labels for a plot axis: "nice" steps (1, 2, 5 x 10^k) on a linear axis,
/// powers of ten on a log axis; labels as short as they can be (`0.25`, `1500`, `1e-4`, `2.5e6`).
public enum AxisTicks {
    /// About `target` ticks covering [low, high]; returns the padded range and the ticks.
    public static func linear(_ low: Double, _ high: Double, target: Int = 6) -> (low: Double, high: Double, ticks: [Double]) {
        var (lo, hi) = (low, high)
        if !(hi > lo) { (lo, hi) = (lo - max(abs(lo) * 0.1, 0.5), hi + max(abs(hi) * 0.1, 0.5)) }
        let raw = (hi - lo) / Double(max(1, target - 1))
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let first = (lo / step).rounded(.down) * step, last = (hi / step).rounded(.up) * step
        var ticks: [Double] = []
        var t = first
        while t <= last + step * 1e-9 {
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return (first, last, ticks)
    }

    /// Decades covering [low, high] (both > 0) for a log axis.
    public static func decades(_ low: Double, _ high: Double) -> (low: Double, high: Double, ticks: [Double]) {
        let a = log10(low).rounded(.down), b = max(a + 1, log10(high).rounded(.up))
        return (pow(10, a), pow(10, b), stride(from: a, through: b, by: 1).map { pow(10, $0) })
    }

    /// A short label: plain decimals for 1e-3 <= |v| < 1e5 (with as many places as `step`
    /// needs), else mantissa and exponent.
    public static func label(_ v: Double, step: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e-3, a < 1e5 {
            let places = max(0, Int((-log10(step)).rounded(.up) + (abs(step / pow(10, log10(step).rounded(.down)) - 2.5) < 1e-9 ? 1 : 0)))
            return trimmed(String(format: "%.\(min(places, 6))f", v))
        }
        let e = Int(log10(a).rounded(.down))
        let m = v / pow(10, Double(e))
        return trimmed(String(format: "%.2f", m)) + "e\(e)"
    }

    private static func trimmed(_ s: String) -> String {
        guard s.contains(".") else { return s }
        var t = s
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t
    }
}
