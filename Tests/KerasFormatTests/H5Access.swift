import HDF5

/// Opens a file's root group for attribute-level tests.
enum H5Access {
    static func root(_ path: String) throws -> H5Group { try H5File.open(path).root() }
}
