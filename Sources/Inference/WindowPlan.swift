/// Where the sliding windows go, by MONAI's rule (`monai/inferers/utils.py`
/// `sliding_window_inference`, `_get_scan_interval`; `monai/data/utils.py` `dense_patch_slices`):
///
/// - an axis shorter than the patch is padded to the patch side with constant padding, the
///   smaller half before (`half = diff // 2` before, `diff - half` after) and cropped back after;
/// - step = `int(patch * (1 - overlap))` (at least 1), or the patch side when the (padded) axis
///   equals the patch;
/// - the window count is the first `d` with `d * step + patch >= side`, plus one, and a window
///   that would cross the far border is moved back flush with it.
///
/// Example, side 100, patch 64, overlap 0.5: step 32; 0*32+64 < 100, 1*32+64 < 100, 2*32+64 >= 100,
/// so 3 windows at 0, 32, and 64 moved back by 64+64-100 = 28 to 36.
///
/// Windows are ordered by their k start, then i, then j (MONAI orders them i, j, k with k fastest;
/// the set is the same, only the order, and so float summation order, differs), so that the
/// k-slabs below the next window's k start are final and can be written out.
public struct WindowPlan: Sendable, Equatable {
    /// The scan's shape (i, j, k).
    public let shape: [Int]
    /// The window's shape (i, j, k) = the network's (D, H, W).
    public let patch: [Int]
    public let overlap: Double
    /// Padding before each axis (`diff // 2`); the padded shape is `paddedShape`.
    public let padBefore: [Int]
    /// max(shape, patch) per axis.
    public let paddedShape: [Int]
    /// Steps per axis.
    public let steps: [Int]
    /// Window starts per axis, in padded coordinates.
    public let starts: [[Int]]

    /// Windows a plan may hold (a budget of work before anything runs).
    public static let maxWindows = 1_000_000

    public init(shape: [Int], patch: [Int], overlap: Double) throws {
        guard shape.count == 3, patch.count == 3 else {
            throw InferenceError.badPlan(reason: "shape \(shape) and patch \(patch) must both have 3 sides (i, j, k)")
        }
        guard shape.allSatisfy({ $0 >= 1 }) else { throw InferenceError.badPlan(reason: "scan shape \(shape) has an empty side") }
        guard patch.allSatisfy({ $0 >= 1 }) else { throw InferenceError.badPlan(reason: "patch \(patch) has an empty side") }
        guard overlap >= 0, overlap < 1 else { throw InferenceError.badPlan(reason: "overlap must be >= 0 and < 1, got \(overlap)") }
        self.shape = shape
        self.patch = patch
        self.overlap = overlap
        paddedShape = zip(shape, patch).map { max($0, $1) }
        padBefore = zip(shape, patch).map { max($1 - $0, 0) / 2 }
        steps = zip(zip(shape, patch).map { max($0, $1) }, patch).map { side, p in
            if side == p { return p }
            let interval = Int((Double(p) * (1 - overlap)).rounded(.towardZero))
            return max(interval, 1)
        }
        let (padded, interval) = (paddedShape, steps)
        let axes = (0..<3).map { Self.axisStarts(side: padded[$0], patch: patch[$0], step: interval[$0]) }
        _ = try CheckedSize.product(axes.map(\.count), what: "window count", limit: Self.maxWindows)
        starts = axes
    }

    /// `dense_patch_slices` along one axis.
    static func axisStarts(side: Int, patch: Int, step: Int) -> [Int] {
        let num = (side + step - 1) / step
        var count = 1
        for d in 0..<num where d * step + patch >= side {
            count = d + 1
            break
        }
        return (0..<count).map { idx in
            let s = idx * step
            return s - max(s + patch - side, 0)
        }
    }

    public var windowCount: Int { starts[0].count * starts[1].count * starts[2].count }

    /// The distinct k starts, ascending; each is one group of windows.
    public var kStarts: [Int] { starts[2] }

    /// The windows with k start `starts[2][group]`, as (i, j, k) origins in padded coordinates,
    /// i slower than j.
    public func windows(inGroup group: Int) -> [[Int]] {
        let k = starts[2][group]
        return starts[0].flatMap { i in starts[1].map { j in [i, j, k] } }
    }

    /// Every window in processing order (k groups, then i, then j).
    public var allWindows: [[Int]] { (0..<starts[2].count).flatMap { windows(inGroup: $0) } }
}
