/// Four-float vector loads, stores and the 4x4 transpose for the Winograd transforms' loops.
///
/// The transforms read and write several arrays a plane apart, which the compiler cannot
/// prove disjoint, so it leaves their scalar loops scalar; these loops run four tiles at once
/// explicitly. Every lane computes the scalar expression in the same order (no fused
/// multiply-adds), so the results are bit for bit the scalar ones.
enum Vector4 {
    typealias V = SIMD4<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }

    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    /// Rows a, b, c, d as columns: result i holds (a[i], b[i], c[i], d[i]).
    @inline(__always)
    static func transpose(_ a: V, _ b: V, _ c: V, _ d: V) -> (V, V, V, V) {
        (V(a[0], b[0], c[0], d[0]), V(a[1], b[1], c[1], d[1]), V(a[2], b[2], c[2], d[2]), V(a[3], b[3], c[3], d[3]))
    }
}

/// A value the Winograd transforms run on: one float, or four tiles' floats at once (Vector4.V).
protocol WinogradLane {
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    static func * (a: Float, b: Self) -> Self
}

extension Float: WinogradLane {}
extension SIMD4: WinogradLane where Scalar == Float {}

extension WinogradF43 {
    /// F(4, 3)'s input transform B^T d: the 6 transform points of inputs d0 ... d5, in the one
    /// arithmetic order every caller (width and height, four tiles or one) uses.
    @inline(__always)
    static func inputPoints<L: WinogradLane>(_ d0: L, _ d1: L, _ d2: L, _ d3: L, _ d4: L, _ d5: L) -> (L, L, L, L, L, L) {
        (4 * d0 - 5 * d2 + d4, -4 * (d1 + d2) + d3 + d4, 4 * (d1 - d2) - d3 + d4,
         2 * (d3 - d1) - d2 + d4, 2 * (d1 - d3) - d2 + d4, 4 * d1 - 5 * d3 + d5)
    }
}
