/// An 8-bit picture in memory: rows top to bottom, pixels left to right, one byte per channel
/// (gray: 1 channel; RGB: 3, interleaved).
public struct PNGImage: Equatable, Sendable {
    public enum Color: String, Sendable {
        case gray, rgb

        public var channels: Int { self == .gray ? 1 : 3 }
    }

    public let width: Int
    public let height: Int
    public let color: Color
    /// `height * width * color.channels` bytes.
    public var pixels: [UInt8]

    /// Largest side libpng's simplified API accepts here (PNG's own limit is 2^31 - 1; this keeps
    /// `height * width * 3` far from overflow and from absurd allocations).
    public static let maxSide = 1 << 15

    public init(width: Int, height: Int, color: Color, pixels: [UInt8]) throws {
        guard (1...Self.maxSide).contains(width), (1...Self.maxSide).contains(height) else {
            throw VolumeError(file: "<image>", what: "size", expected: "width and height in 1...\(Self.maxSide)", found: "\(width) x \(height)")
        }
        guard pixels.count == width * height * color.channels else {
            throw VolumeError(file: "<image>", what: "pixels", expected: "\(width * height * color.channels) bytes (\(width) x \(height) \(color.rawValue))",
                              found: "\(pixels.count)")
        }
        self.width = width
        self.height = height
        self.color = color
        self.pixels = pixels
    }

    /// A picture filled with one gray level or colour (`value` has `color.channels` bytes).
    public init(width: Int, height: Int, color: Color, filledWith value: [UInt8]) throws {
        precondition(value.count == color.channels, "fill value needs \(color.channels) bytes")
        let count = max(0, width) * max(0, height)
        var bytes = [UInt8]()
        bytes.reserveCapacity(count * value.count)
        for _ in 0..<count { bytes.append(contentsOf: value) }
        try self.init(width: width, height: height, color: color, pixels: bytes)
    }
}
