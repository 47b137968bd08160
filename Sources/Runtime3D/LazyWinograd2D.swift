import Foundation

/// A convolution's 2-D Winograd filters, transformed on first use, once, by whichever caller
/// asks first. A layer whose inputs never tile for Winograd (the official deepest level:
/// `ConvolutionTuning.winograd2DMinTiles`) never pays for the transform: a training loop
/// rebuilds every convolution after each update, and the backward builds a flipped one, so at
/// 512 x 512 channels the unused transforms had cost more than the layer's im2col.
final class LazyWinograd2D: @unchecked Sendable {
    let heightTile: Int
    private let make: @Sendable () -> Winograd2D
    private let lock = NSLock()
    private var made: Winograd2D?

    init(weight: [Float], outChannels: Int, inChannels: Int, heightTile: Int) {
        self.heightTile = heightTile
        make = { Winograd2D(weight: weight, outChannels: outChannels, inChannels: inChannels, heightTile: heightTile) }
    }

    /// The transformed filters (made on the first call; callers never hold a worker).
    var filters: Winograd2D {
        lock.lock()
        defer { lock.unlock() }
        if let made { return made }
        let filters = make()
        made = filters
        return filters
    }

    /// True when a sample of this shape tiles and has at least `minTiles` output tiles.
    func fits(depth: Int, height: Int, width: Int, minTiles: Int) -> Bool {
        Winograd2D.fits(heightTile: heightTile, depth: depth, height: height, width: width, minTiles: minTiles)
    }
}
