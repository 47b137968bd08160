import CHDF5
import Foundation
import Tensors

/// An open HDF5 file. Groups and datasets opened from it keep it alive.
public final class H5File {
    public let path: String
    let id: hid_t
    /// The size of a file opened from memory (`open(image:name:)`); nil for files on disk.
    public let imageSize: Int?

    private init(path: String, id: hid_t, imageSize: Int? = nil) {
        self.path = path
        self.id = id
        self.imageSize = imageSize
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

    /// Opens an HDF5 file image held in memory, read-only (libhdf5's core driver, no backing
    /// file): nothing is written to disk. `name` stands for the file in errors.
    public static func open(image: Data, name: String) throws -> H5File {
        try H5Lib.run {
            let id = image.withUnsafeBytes { shim_open_image($0.baseAddress, $0.count, name) }
            guard id >= 0 else {
                throw HDF5Error(file: name, path: "", operation: "not a readable HDF5 file", detail: H5Lib.errorStack())
            }
            return H5File(path: name, id: id, imageSize: image.count)
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
