/// An axis-aligned box of voxels in a cube: start and side along rows, cols and deps, as the
/// official code slices them (`x[:, r:r+rows, c:c+cols, d:d+deps]`).
public struct CubeBox: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var row: Int, col: Int, dep: Int
    public var rows: Int, cols: Int, deps: Int

    public init(row: Int, col: Int, dep: Int, rows: Int, cols: Int, deps: Int) {
        (self.row, self.col, self.dep, self.rows, self.cols, self.deps) = (row, col, dep, rows, cols, deps)
    }

    public var start: [Int] { [row, col, dep] }
    public var sides: [Int] { [rows, cols, deps] }
    public var volume: Int { rows * cols * deps }

    public func contains(_ r: Int, _ c: Int, _ d: Int) -> Bool {
        r >= row && r < row + rows && c >= col && c < col + cols && d >= dep && d < dep + deps
    }

    /// Whether the box lies inside a cube of these sides.
    public func fits(in cube: Cube) -> Bool {
        row >= 0 && col >= 0 && dep >= 0 && row + rows <= cube.rows && col + cols <= cube.cols && dep + deps <= cube.deps
    }

    /// Calls `body(cubeIndex, k)` for every voxel, k counting 0..<volume in C order.
    @inline(__always) public func forEachVoxel(in cube: Cube, _ body: (Int, Int) -> Void) {
        forEachVoxel(cubeCols: cube.cols, cubeDeps: cube.deps, body)
    }

    /// The same for a cube with `cubeCols` columns and `cubeDeps` depths.
    @inline(__always) public func forEachVoxel(cubeCols: Int, cubeDeps: Int, _ body: (Int, Int) -> Void) {
        var k = 0
        for r in row..<(row + rows) {
            for c in col..<(col + cols) {
                let base = (r * cubeCols + c) * cubeDeps + dep
                for d in 0..<deps { body(base + d, k); k += 1 }
            }
        }
    }

    public var description: String { "[\(row):\(row + rows), \(col):\(col + cols), \(dep):\(dep + deps)]" }
}

/// Where the official painting boxes may start: `random.randint(3, dim - side - 3)`, a margin of 3
/// voxels on each side. The official code raises for a cube too small for that margin (never at
/// its 64x64x32, nor down to 16 on a side); here the margin shrinks to what fits instead.
enum PaintMargin {
    static let official = 3

    static func startRange(dim: Int, side: Int) -> ClosedRange<Int> {
        let room = max(0, dim - side)
        let low = min(official, room)
        return low...max(low, room - official)
    }
}
