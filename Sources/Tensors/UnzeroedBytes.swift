/// A byte array of `count` bytes written once by `body`, without the zeroing pass of
/// `[UInt8](repeating: 0, count:)`: for tensor buffers that a reader, a transpose or a scale
/// fills whole. `body` must write all `count` bytes; if it throws, no array is returned.
public enum UnzeroedBytes {
    public static func make(_ count: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buf, n in
            try body(UnsafeMutableRawBufferPointer(buf))
            n = count
        }
    }
}
