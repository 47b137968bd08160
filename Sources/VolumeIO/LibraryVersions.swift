internal import CNIfTI
import CPNG
internal import SystemZlib

/// The versions of the image libraries this process runs on, for `genesis --version`.
public enum VolumeLibraries {
    /// libnifti2's own line: "NIFTI2_IO version 2.1.0 (18 Jun, 2020), compiled ...".
    public static var nifti: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard cnifti_lib_version(&buffer, Int32(buffer.count)) == 0 else { return "" }
        return String(cString: buffer)
    }
    /// libpng's version, "1.6.39".
    public static var png: String { png_get_libpng_ver(nil).map { String(cString: $0) } ?? "" }
    /// zlib's version, "1.2.13".
    public static var zlib: String { String(cString: zlibVersion()) }
}
