import CBLAS

/// The OpenBLAS this process runs on, for `genesis --version`: its build configuration and the
/// kernel set (core type) it chose for this CPU (or OPENBLAS_CORETYPE named).
public enum OpenBLASInfo {
    /// openblas_get_config(): "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64".
    public static var config: String { openblas_get_config().map { String(cString: $0) } ?? "" }
    /// openblas_get_corename(): "Haswell", "Zen", "SkylakeX", ...
    public static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "" }
}
