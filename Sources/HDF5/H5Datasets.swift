import CHDF5
import Tensors

/// Datasets: shape and element type, reads that keep the file's dtype (so checksums match
/// h5py's view) or convert to float32, and contiguous little-endian writes.
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
