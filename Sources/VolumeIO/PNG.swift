import CPNG
import Tensors
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// PNG files through libpng's simplified API (8-bit gray or RGB, no alpha, no palette).
/// Writing is atomic: a temporary file beside the target, fsync, rename, fsync of the directory.
public enum PNG {
    /// Writes `image` to `path`; the target is untouched if anything fails.
    public static func write(_ image: PNGImage, to path: String) throws {
        let tmp = FileIO.temporaryPath(beside: path)
        do {
            guard let fp = fopen(tmp, "wbx") else { throw failure(path, "write", "a new file beside the target", "cannot create \(tmp): \(errnoText())") }
            var png = describe(image)
            let ok = image.pixels.withUnsafeBytes { raw in
                png_image_write_to_stdio(&png, fp, 0, raw.baseAddress, png_int_32(image.width * image.color.channels), nil)
            }
            let message = messageText(&png)
            png_image_free(&png)
            let flushed = fflush(fp) == 0 && fsync(fileno(fp)) == 0
            let closed = fclose(fp) == 0
            guard ok != 0 else { throw failure(path, "write", "libpng to encode the image", message) }
            guard flushed, closed else { throw failure(path, "write", "the bytes on disk", errnoText()) }
            guard rename(tmp, path) == 0 else { throw failure(path, "write", "rename into place", errnoText()) }
            FileIO.renamedTemporary(tmp)
        } catch {
            FileIO.removeTemporary(tmp)
            throw error
        }
        syncDirectory(of: path)
    }

    /// Reads a PNG as 8-bit gray (gray files) or RGB (colour files); alpha is composed onto
    /// black and 16-bit samples are reduced to 8, as libpng's simplified API does.
    public static func read(_ path: String) throws -> PNGImage {
        var png = png_image()
        png.version = cpng_image_version
        guard png_image_begin_read_from_file(&png, path) != 0 else {
            let m = messageText(&png)
            png_image_free(&png)
            throw failure(path, "header", "a PNG file libpng can read", m)
        }
        let color: PNGImage.Color = png.format & cpng_format_flag_color != 0 ? .rgb : .gray
        png.format = color == .rgb ? cpng_format_rgb : cpng_format_gray
        let width = Int(png.width), height = Int(png.height)
        guard width <= PNGImage.maxSide, height <= PNGImage.maxSide else {
            png_image_free(&png)
            throw failure(path, "size", "sides up to \(PNGImage.maxSide)", "\(width) x \(height)")
        }
        var pixels = [UInt8](repeating: 0, count: width * height * color.channels)
        let ok = pixels.withUnsafeMutableBytes { raw in
            png_image_finish_read(&png, nil, raw.baseAddress, png_int_32(width * color.channels), nil)
        }
        let m = messageText(&png)
        png_image_free(&png)
        guard ok != 0 else { throw failure(path, "data", "image data libpng can decode", m) }
        return try PNGImage(width: width, height: height, color: color, pixels: pixels)
    }

    private static func describe(_ image: PNGImage) -> png_image {
        var png = png_image()
        png.version = cpng_image_version
        png.width = png_uint_32(image.width)
        png.height = png_uint_32(image.height)
        png.format = image.color == .rgb ? cpng_format_rgb : cpng_format_gray
        return png
    }

    private static func messageText(_ png: inout png_image) -> String {
        withUnsafeBytes(of: &png.message) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return bytes.isEmpty ? "libpng gave no message" : String(decoding: bytes, as: UTF8.self)
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }

    private static func failure(_ path: String, _ what: String, _ expected: String, _ found: String) -> VolumeError {
        VolumeError(file: path, what: "png \(what)", expected: expected, found: found)
    }

    private static func syncDirectory(of path: String) {
        let dir = path.lastIndex(of: "/").map { String(path[...$0]) } ?? "."
        let fd = open(dir, O_RDONLY)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }
}
