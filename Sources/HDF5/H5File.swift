import CHDF5
import Tensors

/// An open HDF5 file. Groups and datasets opened from it keep it alive.
public final class H5File {
    public let path: String
    let id: hid_t

    private init(path: String, id: hid_t) {
        self.path = path
        self.id = id
    }

    /// Opens an existing file read-only.
    public static func open(_ path: String) throws -> H5File {
        try H5Lib.run {
            guard FileIO.exists(path) else {
                throw HDF5Error(file: path, path: "", operation: "cannot open", detail: "no such file")
            }
            guard H5Fis_hdf5(path) > 0 else {
                throw HDF5Error(file: path, path: "", operation: "not an HDF5 file", detail: H5Lib.errorStack())
            }
            let id = H5Fopen(path, shim_F_ACC_RDONLY(), H5Lib.defaultPL)
            guard id >= 0 else {
                throw HDF5Error(file: path, path: "", operation: "cannot open", detail: H5Lib.errorStack())
            }
            return H5File(path: path, id: id)
        }
    }

    /// Creates (truncating) a file for writing, with default properties so that HDF5 1.8+
    /// readers (h5py 2.x, Keras 2.2.4) can open it.
    public static func create(_ path: String) throws -> H5File {
        try H5Lib.run {
            let id = H5Fcreate(path, shim_F_ACC_TRUNC(), H5Lib.defaultPL, H5Lib.defaultPL)
            guard id >= 0 else {
                throw HDF5Error(file: path, path: "", operation: "cannot create", detail: H5Lib.errorStack())
            }
            return H5File(path: path, id: id)
        }
    }

    /// The root group `/`.
    public func root() throws -> H5Group { try H5Group.open(in: self, parent: id, name: "/", path: "/") }

    /// Flushes everything written so far to disk.
    public func flush() throws {
        try H5Lib.run {
            guard H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0 else {
                throw HDF5Error(file: path, path: "", operation: "cannot flush", detail: H5Lib.errorStack())
            }
        }
    }

    deinit { _ = H5Lib.run { H5Fclose(id) } }
}
