import CHDF5
import Tensors

/// Datasets: shape and element type, reads that keep the file's dtype (so checksums match
/// h5py's view) or convert to float32, and contiguous little-endian writes.
/// A run of bytes in a file: `length` bytes from `offset`.
public struct FileExtent: Sendable, Equatable {
    public let offset: Int
    public let length: Int
    public init(offset: Int, length: Int) {
        self.offset = offset
        self.length = length
    }
}

extension H5Group {
    public struct DatasetInfo: Sendable, Equatable {
        public let shape: [Int]
        public let dtype: DType
    }

    /// Shape and dtype of a dataset, without reading its data.
    public func datasetInfo(_ name: String) throws -> DatasetInfo {
        try H5Lib.run {
            let d = H5Dopen2(id, name, H5Lib.defaultPL)
            guard d >= 0 else { throw error("cannot open dataset", name) }
            defer { H5Dclose(d) }
            return try info(of: d, name: name)
        }
    }

    private func info(of d: hid_t, name: String) throws -> DatasetInfo {
        let space = H5Dget_space(d)
        guard space >= 0 else { throw error("cannot read dataspace", name) }
        defer { H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank >= 0, rank <= Int32(Limits.maxRank) else { throw error("invalid rank \(rank)", name) }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        if rank > 0 { guard H5Sget_simple_extent_dims(space, &dims, nil) >= 0 else { throw error("cannot read dims", name) } }
        let shape = try dims.map { d -> Int in
            guard d <= hsize_t(Int.max) else { throw error("dimension \(d) too large", name) }
            return Int(d)
        }
        let ftype = H5Dget_type(d)
        guard ftype >= 0 else { throw error("cannot read type", name) }
        defer { H5Tclose(ftype) }
        let size = H5Tget_size(ftype)
        let dtype: DType
        switch H5Tget_class(ftype) {
        case H5T_FLOAT:
            switch size {
            case 2: dtype = .float16
            case 4: dtype = .float32
            case 8: dtype = .float64
            default: throw HDF5Error(file: file.path, path: childPath(name), operation: "unsupported float size \(size)", detail: "")
            }
        case H5T_INTEGER:
            let signed = H5Tget_sign(ftype) == H5T_SGN_2
            switch (size, signed) {
            case (1, true): dtype = .int8
            case (1, false): dtype = .uint8
            case (2, true): dtype = .int16
            case (4, true): dtype = .int32
            case (8, true): dtype = .int64
            default: throw HDF5Error(file: file.path, path: childPath(name), operation: "unsupported integer type (\(size) bytes, \(signed ? "signed" : "unsigned"))", detail: "")
            }
        default:
            throw HDF5Error(file: file.path, path: childPath(name), operation: "unsupported dataset type (class \(H5Tget_class(ftype).rawValue))", detail: "")
        }
        return DatasetInfo(shape: shape, dtype: dtype)
    }

    /// Reads a dataset keeping its dtype; bytes little-endian, C order.
    public func readTensor(_ name: String) throws -> Tensor {
        try H5Lib.run {
            let d = H5Dopen2(id, name, H5Lib.defaultPL)
            guard d >= 0 else { throw error("cannot open dataset", name) }
            defer { H5Dclose(d) }
            let i = try info(of: d, name: name)
            let count = try Limits.byteCount(i.shape, i.dtype, what: "\(file.path): \(childPath(name))")
            let mtype = memoryType(i.dtype)
            defer { if i.dtype == .float16 { H5Tclose(mtype) } }
            // Filled by H5Dread whole (no zeroing pass): a failed read throws before use.
            var status: herr_t = 0
            let bytes = UnzeroedBytes.make(count) { buf in
                if count > 0 { status = H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5Lib.defaultPL, buf.baseAddress) }
            }
            guard status >= 0 else { throw error("cannot read dataset", name) }
            return try Tensor(dtype: i.dtype, shape: i.shape, bytes: bytes, name: childPath(name))
        }
    }

    /// Where a dataset's bytes lie in the file, when the file holds them exactly as
    /// `readTensor` would return them: one contiguous block, all of it allocated, no filter, no
    /// external file, the stored type equal to the little-endian type read. nil otherwise
    /// (compact, chunked, compressed, big-endian...: read those with `readTensor`), nil for a
    /// file opened from memory (its offsets are not the disk file's) and for a file with a user
    /// block (its addresses count from the block's end).
    public func contiguousExtent(_ name: String) throws -> (info: DatasetInfo, extent: FileExtent)? {
        guard file.imageSize == nil else { return nil }
        return try H5Lib.run {
            let fcpl = H5Fget_create_plist(file.id)
            guard fcpl >= 0 else { throw error("cannot read the file's creation properties", name) }
            var userblock: hsize_t = 0
            let status = H5Pget_userblock(fcpl, &userblock)
            H5Pclose(fcpl)
            guard status >= 0, userblock == 0 else { return nil }
            let d = H5Dopen2(id, name, H5Lib.defaultPL)
            guard d >= 0 else { throw error("cannot open dataset", name) }
            defer { H5Dclose(d) }
            let i = try info(of: d, name: name)
            let count = try Limits.byteCount(i.shape, i.dtype, what: "\(file.path): \(childPath(name))")
            let dcpl = H5Dget_create_plist(d)
            guard dcpl >= 0 else { throw error("cannot read the creation properties", name) }
            defer { H5Pclose(dcpl) }
            guard count > 0, H5Pget_layout(dcpl) == H5D_CONTIGUOUS, H5Pget_nfilters(dcpl) == 0, H5Pget_external_count(dcpl) == 0,
                  H5Dget_storage_size(d) == hsize_t(count) else { return nil }
            let ftype = H5Dget_type(d)
            guard ftype >= 0 else { throw error("cannot read type", name) }
            defer { H5Tclose(ftype) }
            let mtype = memoryType(i.dtype)
            defer { if i.dtype == .float16 { H5Tclose(mtype) } }
            let offset = H5Dget_offset(d)
            guard H5Tequal(ftype, mtype) > 0, offset != haddr_t.max, offset <= haddr_t(Int.max - count) else { return nil }
            return (i, FileExtent(offset: Int(offset), length: count))
        }
    }

    /// Reads a dataset as float32 (HDF5 converts f16/f64 and integers).
    public func readFloat32(_ name: String) throws -> Tensor {
        let t = try readTensor(name)
        return t.asFloat32()
    }

    /// Writes a tensor as a contiguous dataset (intermediate groups created), rank 0 as a scalar.
    public func writeTensor(_ name: String, _ t: Tensor) throws {
        try H5Lib.run {
            let lcpl = H5Pcreate(shim_P_LINK_CREATE())
            defer { H5Pclose(lcpl) }
            H5Pset_create_intermediate_group(lcpl, 1)
            var dims = t.shape.map { hsize_t($0) }
            let space = t.rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(Int32(t.rank), &dims, nil)
            guard space >= 0 else { throw error("cannot create dataspace", name) }
            defer { H5Sclose(space) }
            let ftype = fileType(t.dtype)
            let mtype = memoryType(t.dtype)
            defer { if t.dtype == .float16 { H5Tclose(mtype); H5Tclose(ftype) } }
            let dcpl = shim_dcpl_untimed()
            defer { H5Pclose(dcpl) }
            let d = H5Dcreate2(id, name, ftype, space, lcpl, dcpl, H5Lib.defaultPL)
            guard d >= 0 else { throw error("cannot create dataset", name) }
            defer { H5Dclose(d) }
            if t.elementCount > 0 {
                let status = t.bytes.withUnsafeBytes { H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5Lib.defaultPL, $0.baseAddress) }
                guard status >= 0 else { throw error("cannot write dataset", name) }
            }
        }
    }

    private func memoryType(_ dtype: DType) -> hid_t {
        switch dtype {
        case .float16: return shim_T_IEEE_F16LE()
        case .float32: return shim_T_IEEE_F32LE()
        case .float64: return shim_T_IEEE_F64LE()
        case .int64: return shim_T_STD_I64LE()
        case .int32: return shim_T_STD_I32LE()
        case .int16: return H5T_STD_I16LE_g
        case .int8: return H5T_STD_I8LE_g
        case .uint8, .bool: return H5T_STD_U8LE_g
        case .bfloat16: return H5T_STD_U16LE_g  // stored as raw 16-bit words, as Keras 3 does
        }
    }

    private func fileType(_ dtype: DType) -> hid_t { memoryType(dtype) }
}
