import VolumeIO
import Foundation

/// The picture of `genesis preview --log`: training loss per step (thin, light) with its
/// smoothed line (dark), validation points per epoch (orange dots joined), grid, axes with
/// tick labels and a legend, on white.
public struct LossCurvePlot {
    public var log: LossLog
    public var width = 900
    public var height = 520
    public var logScale = false
    public var smoothing = 0.9

    public init(log: LossLog, width: Int = 900, height: Int = 520, logScale: Bool = false, smoothing: Double = 0.9) {
        self.log = log
        self.width = width
        self.height = height
        self.logScale = logScale
        self.smoothing = smoothing
    }

    public static let white: PreviewCanvas.RGB = (255, 255, 255)
    public static let axis: PreviewCanvas.RGB = (90, 90, 90)
    public static let grid: PreviewCanvas.RGB = (228, 228, 228)
    public static let minorGrid: PreviewCanvas.RGB = (244, 244, 244)
    public static let text: PreviewCanvas.RGB = (40, 40, 40)
    public static let raw: PreviewCanvas.RGB = (160, 198, 232)
    public static let smooth: PreviewCanvas.RGB = (24, 98, 170)
    public static let validation: PreviewCanvas.RGB = (228, 102, 16)

    public var xLabel: String { log.placement == "epoch" ? "epoch" : "step" }

    public func draw() -> PreviewCanvas {
        var c = PreviewCanvas(width: width, height: height, background: Self.white)
        let all = log.training + log.validation
        let ys = all.map(\.y).filter { !logScale || $0 > 0 }
        let xs = all.map(\.x)
        let xr = AxisTicks.linear(xs.min() ?? 0, xs.max() ?? 1, target: 8)
        let yr = logScale ? AxisTicks.decades(ys.min() ?? 1, ys.max() ?? 10) : AxisTicks.linear(ys.min() ?? 0, ys.max() ?? 1, target: 7)
        let yStep = yr.ticks.count > 1 ? yr.ticks[1] - yr.ticks[0] : 1
        let yLabels = yr.ticks.map { logScale ? AxisTicks.label($0, step: $0) : AxisTicks.label($0, step: yStep) }
        let left = 16 + 2 * (yLabels.map(PreviewFont.textWidth).max() ?? 10), right = width - 24
        let top = 56, bottom = height - 52
        func px(_ x: Double) -> Double { Double(left) + (x - xr.low) / (xr.high - xr.low) * Double(right - left) }
        func py(_ y: Double) -> Double {
            let f = logScale ? (log10(max(y, yr.low)) - log10(yr.low)) / (log10(yr.high) - log10(yr.low)) : (y - yr.low) / (yr.high - yr.low)
            return Double(bottom) - f * Double(bottom - top)
        }

        // Grid, ticks and labels.
        let xStep = xr.ticks.count > 1 ? xr.ticks[1] - xr.ticks[0] : 1
        for t in xr.ticks {
            let x = Int(px(t).rounded())
            c.fill(x: x, y: top, w: 1, h: bottom - top, Self.grid)
            c.fill(x: x, y: bottom, w: 1, h: 5, Self.axis)
            let label = AxisTicks.label(t, step: xStep)
            c.text(label, x: x - PreviewFont.textWidth(label), y: bottom + 9, scale: 2, Self.text)
        }
        if logScale {  // minor grid at 2...9 x 10^k
            for t in yr.ticks.dropLast() {
                for m in 2...9 { c.fill(x: left, y: Int(py(t * Double(m)).rounded()), w: right - left, h: 1, Self.minorGrid) }
            }
        }
        for (t, label) in zip(yr.ticks, yLabels) {
            let y = Int(py(t).rounded())
            c.fill(x: left, y: y, w: right - left, h: 1, Self.grid)
            c.fill(x: left - 5, y: y, w: 5, h: 1, Self.axis)
            c.text(label, x: left - 9 - 2 * PreviewFont.textWidth(label), y: y - 7, scale: 2, Self.text)
        }
        c.frame(x: left, y: top, w: right - left + 1, h: bottom - top + 1, Self.axis)
        c.text(xLabel, x: (left + right) / 2 - PreviewFont.textWidth(xLabel), y: height - 22, scale: 2, Self.text)
        c.text(logScale ? "loss (log scale)" : "loss", x: left, y: 16, scale: 2, Self.text)

        // Curves.
        func polyline(_ points: [LossLog.Point], _ color: PreviewCanvas.RGB, thickness: Int) {
            for (a, b) in zip(points, points.dropFirst()) { c.line(px(a.x), py(a.y), px(b.x), py(b.y), color, thickness: thickness) }
        }
        let train = log.training.sorted { $0.x < $1.x }
        polyline(train, Self.raw, thickness: 1)
        if train.count == 1 { c.dot(px(train[0].x), py(train[0].y), radius: 2, Self.raw) }
        if train.count > 2 { polyline(LossLog.smoothed(train, weight: smoothing), Self.smooth, thickness: 2) }
        let val = log.validation.sorted { $0.x < $1.x }
        polyline(val, Self.validation, thickness: 2)
        for p in val { c.dot(px(p.x), py(p.y), radius: 3.5, Self.validation) }

        // Legend, top right.
        var entries: [(String, PreviewCanvas.RGB, Bool)] = []
        if !train.isEmpty { entries.append(("train", Self.raw, false)) }
        if train.count > 2 { entries.append(("smoothed", Self.smooth, false)) }
        if !val.isEmpty { entries.append(("validation", Self.validation, true)) }
        var x = right
        for (name, color, isDot) in entries.reversed() {
            x -= 2 * PreviewFont.textWidth(name)
            c.text(name, x: x, y: 18, scale: 2, Self.text)
            x -= 30
            c.line(Double(x), 25, Double(x + 22), 25, color, thickness: 3)
            if isDot { c.dot(Double(x + 11), 25, radius: 3.5, color) }
            x -= 22
        }
        return c
    }
}
