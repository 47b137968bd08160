import VolumeIO

/// The picture of `genesis preview --scan A [--scan B ...]`: one row per scan, its three middle
/// planes side by side (axial: the i,j plane at the middle k; coronal: i,k at the middle j;
/// sagittal: j,k at the middle i), each scaled so that a voxel keeps its physical aspect (the
/// spacing), a title above each column and the file under each row. Gray levels: the scan's
/// values through its window, mapped to [0, 1] and times 255.
public struct ScanPreview {
    public struct Row {
        public var volume: Volume
        public var window: IntensityWindow
        /// Why this window: "--window", "label map: 2 labels", "CT HU", ...
        public var choice: String
        public var caption: String
        public init(volume: Volume, window: IntensityWindow, choice: String, caption: String) {
            self.volume = volume
            self.window = window
            self.choice = choice
            self.caption = caption
        }
    }

    public let rows: [Row]
    /// Pixels per millimetre on the finest axis of the finest scan.
    public let pixelsPerVoxel: Int

    public init(rows: [Row], pixelsPerVoxel: Int) {
        self.rows = rows
        self.pixelsPerVoxel = pixelsPerVoxel
    }

    public static let background = PreviewCanvas.gray(48)
    public static let ink = PreviewCanvas.gray(225)
    public static let titles = ["axial (k mid)", "coronal (j mid)", "sagittal (i mid)"]

    /// A plane as `rows x cols` values in [0, 1], rows going down the picture; `vertical` and
    /// `horizontal` name the axes, with the vertical axis drawn from high to low index for the
    /// planes that hold k (head up) and the axial plane drawn with j down, as viewers show them.
    public static func plane(_ v: Volume, _ w: IntensityWindow, fixed axis: Int) -> (values: [Float], rows: Int, cols: Int, rowAxis: Int, colAxis: Int) {
        let (ni, nj, nk) = (v.shape[0], v.shape[1], v.shape[2])
        let mid = [ni / 2, nj / 2, nk / 2][axis]
        let (rowAxis, colAxis) = axis == 2 ? (1, 0) : (2, axis == 1 ? 0 : 1)
        let nr = v.shape[rowAxis], nc = v.shape[colAxis]
        let span = w.high - w.low
        var out = [Float](repeating: 0, count: nr * nc)
        for r in 0..<nr {
            for c in 0..<nc {
                var idx = [0, 0, 0]
                idx[axis] = mid
                idx[rowAxis] = rowAxis == 2 ? nk - 1 - r : r
                idx[colAxis] = c
                let x = Double(v.voxels[idx[0] + ni * (idx[1] + nj * idx[2])])
                out[r * nc + c] = x.isNaN ? .nan : Float((min(w.high, max(w.low, x)) - w.low) / span)
            }
        }
        return (out, nr, nc, rowAxis, colAxis)
    }

    public func draw() -> PreviewCanvas {
        let finest = rows.flatMap { $0.volume.geometry.spacing.prefix(3) }.filter { $0 > 0 }.min() ?? 1
        func pixels(_ v: Volume, _ axis: Int) -> Int {
            let s = v.geometry.spacing.count > axis && v.geometry.spacing[axis] > 0 ? v.geometry.spacing[axis] : finest
            return max(1, Int((Double(pixelsPerVoxel) * s / finest).rounded()))
        }
        let gap = 4, lineH = PreviewFont.height + 4
        var planes: [[(values: [Float], rows: Int, cols: Int, w: Int, h: Int)]] = []
        for row in rows {
            planes.append((0..<3).reversed().map { axis in
                let p = Self.plane(row.volume, row.window, fixed: axis)
                return (p.values, p.rows, p.cols, p.cols * pixels(row.volume, p.colAxis), p.rows * pixels(row.volume, p.rowAxis))
            })
        }
        let columnW = (0..<3).map { k in planes.map { $0[k].w }.max() ?? 1 }
        let width = max(gap + columnW.reduce(0) { $0 + $1 + gap }, 2 * gap + PreviewFont.textWidth(rows.map(\.caption).max { $0.count < $1.count } ?? ""))
        let rowH = planes.map { r in r.map(\.h).max() ?? 1 }
        let height = lineH + gap + rowH.reduce(0) { $0 + $1 + gap + lineH + gap }
        var canvas = PreviewCanvas(width: width, height: height, background: Self.background)
        var x = gap
        for k in 0..<3 {
            canvas.text(Self.titles[k], x: x + max(0, (columnW[k] - PreviewFont.textWidth(Self.titles[k])) / 2), y: 2, Self.ink)
            x += columnW[k] + gap
        }
        var y = lineH + gap
        for (i, row) in rows.enumerated() {
            x = gap
            for k in 0..<3 {
                let p = planes[i][k]
                Self.stretched(&canvas, p.values, rows: p.rows, cols: p.cols, x: x, y: y, w: p.w, h: p.h)
                x += columnW[k] + gap
            }
            y += rowH[i] + gap
            canvas.text(row.caption, x: gap, y: y, Self.ink)
            y += lineH + gap
        }
        return canvas
    }

    /// Nearest-neighbour scaling of a panel to `w x h` pixels.
    public static func stretched(_ canvas: inout PreviewCanvas, _ values: [Float], rows: Int, cols: Int, x: Int, y: Int, w: Int, h: Int) {
        for py in 0..<h {
            let r = min(rows - 1, py * rows / h)
            for px in 0..<w {
                let v = values[r * cols + min(cols - 1, px * cols / w)]
                let level = v.isNaN ? 0 : UInt8((min(1, max(0, v)) * 255).rounded())
                canvas.fill(x: x + px, y: y + py, w: 1, h: 1, PreviewCanvas.gray(level))
            }
        }
    }
}

/// The window `preview --scan` draws a scan through when --window is not given, from its values.
public enum ScanWindowChoice {
    /// The window, and why it was chosen (for the caption and --json).
    public static func choose(_ v: Volume) -> (IntensityWindow, String) {
        var lo = Float.infinity, hi = -Float.infinity
        var labels = Set<Float>(), whole = true
        for x in v.voxels where x.isFinite {
            lo = min(lo, x)
            hi = max(hi, x)
            if whole {
                if x != x.rounded() || x < 0 || x > 255 { whole = false } else if labels.count <= 16 { labels.insert(x) }
            }
        }
        if whole, !labels.isEmpty, labels.count <= 16 {
            return (IntensityWindow(low: 0, high: Double(max(hi, 1))), "label map: \(labels.count) label\(labels.count == 1 ? "" : "s")")
        }
        if !v.storedType.hasPrefix("float") { return (.ct, "CT HU") }
        if lo >= 0, hi <= 1 || lo > hi { return (IntensityWindow(low: 0, high: 1), "values in [0, 1]") }
        return (IntensityWindow(low: Double(lo), high: Double(hi > lo ? hi : lo + 1)), "the scan's range")
    }
}
