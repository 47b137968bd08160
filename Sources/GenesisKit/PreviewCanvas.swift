import VolumeIO

/// An RGB picture to draw on: rectangles, anti-aliased lines (Xiaolin Wu), dots, bitmap text,
/// and gray panels scaled up by nearest neighbour. Coordinates in pixels, origin top left.
public struct PreviewCanvas {
    public typealias RGB = (r: UInt8, g: UInt8, b: UInt8)

    public let width: Int
    public let height: Int
    private(set) var pixels: [UInt8]

    public init(width: Int, height: Int, background: RGB) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, w: width, h: height, background)
    }

    public static func gray(_ v: UInt8) -> RGB { (v, v, v) }

    /// Blends `color` over the pixel with weight `alpha` in [0, 1].
    public mutating func blend(_ x: Int, _ y: Int, _ color: RGB, alpha: Double = 1) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        let a = min(1, alpha), i = (y * width + x) * 3
        for (k, c) in [color.r, color.g, color.b].enumerated() {
            pixels[i + k] = UInt8((Double(pixels[i + k]) * (1 - a) + Double(c) * a).rounded())
        }
    }

    /// Clipped to the canvas: a rectangle partly or wholly outside (a title wider than a small
    /// cube's panels) draws what falls inside, or nothing.
    public mutating func fill(x: Int, y: Int, w: Int, h: Int, _ color: RGB) {
        let (x0, x1, y0, y1) = (max(0, x), min(width, x + w), max(0, y), min(height, y + h))
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 {
            for xx in x0..<x1 {
                let i = (yy * width + xx) * 3
                (pixels[i], pixels[i + 1], pixels[i + 2]) = color
            }
        }
    }

    /// A rectangle's outline, 1 pixel wide.
    public mutating func frame(x: Int, y: Int, w: Int, h: Int, _ color: RGB) {
        fill(x: x, y: y, w: w, h: 1, color)
        fill(x: x, y: y + h - 1, w: w, h: 1, color)
        fill(x: x, y: y, w: 1, h: h, color)
        fill(x: x + w - 1, y: y, w: 1, h: h, color)
    }

    /// An anti-aliased line; `thickness` > 1 draws parallel lines across the main direction.
    public mutating func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ color: RGB, thickness: Int = 1, alpha: Double = 1) {
        let steep = abs(y1 - y0) > abs(x1 - x0)
        for k in 0..<max(1, thickness) {
            let o = Double(k) - Double(thickness - 1) / 2
            if steep { wu(x0 + o, y0, x1 + o, y1, color, alpha) } else { wu(x0, y0 + o, x1, y1 + o, color, alpha) }
        }
    }

    private mutating func wu(_ ax: Double, _ ay: Double, _ bx: Double, _ by: Double, _ color: RGB, _ alpha: Double) {
        var (x0, y0, x1, y1) = (ax, ay, bx, by)
        let steep = abs(y1 - y0) > abs(x1 - x0)
        if steep { (x0, y0, x1, y1) = (y0, x0, y1, x1) }
        if x0 > x1 { (x0, y0, x1, y1) = (x1, y1, x0, y0) }
        let dx = x1 - x0
        let gradient = dx == 0 ? 1 : (y1 - y0) / dx
        var x = x0.rounded()
        var y = y0 + gradient * (x - x0)
        while x <= x1.rounded() {
            let f = y - y.rounded(.down), base = Int(y.rounded(.down))
            if steep {
                blend(base, Int(x), color, alpha: (1 - f) * alpha)
                blend(base + 1, Int(x), color, alpha: f * alpha)
            } else {
                blend(Int(x), base, color, alpha: (1 - f) * alpha)
                blend(Int(x), base + 1, color, alpha: f * alpha)
            }
            x += 1
            y += gradient
        }
    }

    /// A filled disc, edges anti-aliased.
    public mutating func dot(_ cx: Double, _ cy: Double, radius: Double, _ color: RGB) {
        let r = Int(radius.rounded(.up)) + 1
        for y in (Int(cy) - r)...(Int(cy) + r) {
            for x in (Int(cx) - r)...(Int(cx) + r) {
                let d = ((Double(x) - cx) * (Double(x) - cx) + (Double(y) - cy) * (Double(y) - cy)).squareRoot()
                blend(x, y, color, alpha: min(1, max(0, radius + 0.5 - d)))
            }
        }
    }

    /// Text with its top-left corner at (x, y), each font pixel `scale` x `scale`.
    public mutating func text(_ s: String, x: Int, y: Int, scale: Int = 1, _ color: RGB) {
        var left = x
        for ch in s {
            if let rows = PreviewFont.glyph(ch) {
                for (gy, row) in rows.enumerated() {
                    for (gx, ink) in row.enumerated() where ink == "#" {
                        fill(x: left + gx * scale, y: y + gy * scale, w: scale, h: scale, color)
                    }
                }
            }
            left += PreviewFont.advance * scale
        }
    }

    /// A gray panel (`rows` x `cols` values in [0, 1], row-major) at (x, y), each value
    /// `scale` x `scale` pixels. Values are clamped to [0, 1]; NaN is drawn black.
    public mutating func panel(_ values: [Float], rows: Int, cols: Int, x: Int, y: Int, scale: Int) {
        for r in 0..<rows {
            for c in 0..<cols {
                let v = values[r * cols + c]
                let level = v.isNaN ? 0 : UInt8((min(1, max(0, v)) * 255).rounded())
                fill(x: x + c * scale, y: y + r * scale, w: scale, h: scale, Self.gray(level))
            }
        }
    }

    /// The picture as a PNG image, gray (the red channel) or RGB.
    public func image(gray: Bool) throws -> PNGImage {
        if gray {
            return try PNGImage(width: width, height: height, color: .gray, pixels: stride(from: 0, to: pixels.count, by: 3).map { pixels[$0] })
        }
        return try PNGImage(width: width, height: height, color: .rgb, pixels: pixels)
    }
}
