import VolumeIO
import Pretext

/// The picture of `genesis preview --data`: one row per cube, the middle depth slice of the
/// original (flipped as the target is), the transformed cube (the network input) and, with a
/// model, its restoration, side by side as in the official sample pictures; a 1-pixel gap (in
/// cube voxels, so `scale` pixels) between panels, titles above the columns and under each row
/// what the transforms drew. Gray levels are the values times 255, clamped to [0, 1].
public struct CubePreview {
    public struct Row {
        public var original: Cube
        public var input: Cube
        public var restored: Cube?
        public var caption: String
        public init(original: Cube, input: Cube, restored: Cube?, caption: String) {
            self.original = original
            self.input = input
            self.restored = restored
            self.caption = caption
        }
    }

    public let rows: [Row]
    public let scale: Int

    public init(rows: [Row], scale: Int) {
        self.rows = rows
        self.scale = scale
    }

    public static let background = PreviewCanvas.gray(48)
    public static let ink = PreviewCanvas.gray(225)

    public var textScale: Int { scale >= 4 ? 2 : 1 }
    public var columns: [String] { rows.first?.restored == nil ? ["original", "input"] : ["original", "input", "restored"] }

    public func draw() -> PreviewCanvas {
        guard let first = rows.first else { return PreviewCanvas(width: 1, height: 1, background: Self.background) }
        let (side, across) = (first.original.rows, first.original.cols)
        let gap = scale, panelW = across * scale, panelH = side * scale
        let lineH = (PreviewFont.height + 2) * textScale
        let width = gap + columns.count * (panelW + gap)
        let captions = rows.enumerated().map { i, row in wrapped("\(i): \(row.caption)", width: width - 2 * gap) }
        let header = lineH + gap
        let height = header + captions.reduce(0) { $0 + panelH + gap + $1.count * lineH + gap }
        var canvas = PreviewCanvas(width: width, height: height, background: Self.background)
        for (k, title) in columns.enumerated() {
            let x = gap + k * (panelW + gap) + (panelW - PreviewFont.textWidth(title) * textScale) / 2
            canvas.text(title, x: max(0, x), y: textScale * 2, scale: textScale, Self.ink)
        }
        var y = header
        for (i, row) in rows.enumerated() {
            let cubes = [row.original, row.input] + (row.restored.map { [$0] } ?? [])
            for (k, cube) in cubes.enumerated() {
                canvas.panel(cube.depthSlice(cube.deps / 2), rows: cube.rows, cols: cube.cols, x: gap + k * (panelW + gap), y: y, scale: scale)
            }
            y += panelH + gap
            for line in captions[i] {
                canvas.text(line, x: gap, y: y, scale: textScale, Self.ink)
                y += lineH
            }
            y += gap
        }
        return canvas
    }

    /// The caption in lines that fit `width` pixels, broken after "; " where possible (a part
    /// longer than a line is cut).
    public func wrapped(_ s: String, width: Int) -> [String] {
        let most = max(4, (width + textScale) / (PreviewFont.advance * textScale))
        var lines: [String] = [], current = ""
        for part in s.components(separatedBy: "; ") {
            let piece = part.count <= most ? part : String(part.prefix(most - 2)) + ".."
            let joined = current.isEmpty ? piece : current + "; " + piece
            if joined.count <= most { current = joined } else { lines.append(current + ";"); current = piece }
        }
        return lines + [current]
    }
}
