import CHDF5
import Tensors

/// Attributes on groups: strings in every form Keras and h5py wrote them (fixed-length
/// null-padded or variable-length, ASCII or UTF-8, scalar or list), the empty float64 array
/// that stands for an empty list, and Keras's split lists `NAME0`, `NAME1`, ...
extension H5Group {
    /// Keras's limit on one attribute's data (`HDF5_OBJECT_HEADER_LIMIT`).
    public static let kerasAttributeLimit = 64512
    /// Cap on the number of strings or bytes one attribute may make us allocate.
    static let maxAttributeElements = 50_000_000

    public func hasAttribute(_ name: String) -> Bool {
        H5Lib.run { H5Aexists(id, name) > 0 }
    }

    /// Attribute names in name order.
    public func attributeNames() throws -> [String] {
        try H5Lib.run {
            final class Box { var names: [String] = [] }
            let box = Box()
            let status = shim_list_attributes(id, { name, ctx in
                Unmanaged<Box>.fromOpaque(ctx!).takeUnretainedValue().names.append(String(cString: name!))
                return 0
            }, Unmanaged.passUnretained(box).toOpaque())
            guard status >= 0 else { throw error("cannot list attributes") }
            return box.names
        }
    }

    /// A scalar (or one-element) string attribute; nil when absent.
    public func stringAttribute(_ name: String) throws -> String? {
        guard hasAttribute(name) else { return nil }
        let list = try readStrings(name)
        guard list.count == 1 else {
            throw HDF5Error(file: file.path, path: path, operation: "attribute \(name): expected one string, found \(list.count)", detail: "")
        }
        return list[0]
    }

    /// A list-valued string attribute as Keras stores it: `name` itself, or the pieces
    /// `name0`, `name1`, ... concatenated; the empty list when neither exists.
    public func stringListAttribute(_ name: String) throws -> [String] {
        if hasAttribute(name) { return try readStrings(name) }
        var out: [String] = []
        var k = 0
        while hasAttribute("\(name)\(k)") {
            out += try readStrings("\(name)\(k)")
            k += 1
        }
        return out
    }

    /// Reads a string attribute (any string form) or an empty numeric array as a list.
    public func readStrings(_ name: String) throws -> [String] {
        try H5Lib.run {
            let attr = H5Aopen(id, name, H5Lib.defaultPL)
            guard attr >= 0 else { throw error("cannot open attribute \(name)") }
            defer { H5Aclose(attr) }
            let ftype = H5Aget_type(attr)
            guard ftype >= 0 else { throw error("cannot read type of attribute \(name)") }
            defer { H5Tclose(ftype) }
            let space = H5Aget_space(attr)
            guard space >= 0 else { throw error("cannot read dataspace of attribute \(name)") }
            defer { H5Sclose(space) }
            let npoints = H5Sget_simple_extent_npoints(space)
            guard npoints >= 0, npoints <= H5Group.maxAttributeElements else {
                throw error("attribute \(name) has an invalid element count \(npoints)")
            }
            let n = Int(npoints)
            guard H5Tget_class(ftype) == H5T_STRING else {
                if n == 0 { return [] }  // h5py's empty list: float64 with dims (0)
                throw HDF5Error(file: file.path, path: path, operation: "attribute \(name): expected strings, found a numeric array of \(n) values", detail: "")
            }
            if n == 0 { return [] }
            let mtype = H5Tcopy(shim_T_C_S1())
            defer { H5Tclose(mtype) }
            H5Tset_cset(mtype, H5Tget_cset(ftype))
            if H5Tis_variable_str(ftype) > 0 {
                H5Tset_size(mtype, shim_T_VARIABLE())
                var ptrs = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
                guard H5Aread(attr, mtype, &ptrs) >= 0 else { throw error("cannot read attribute \(name)") }
                defer { H5Dvlen_reclaim(mtype, space, H5Lib.defaultPL, &ptrs) }
                return ptrs.map { $0.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: strlen($0)), as: UTF8.self) } ?? "" }
            }
            let size = H5Tget_size(ftype)
            guard size > 0, size <= 1 << 24 else { throw error("attribute \(name) has an invalid string size \(size)") }
            let (total, overflow) = n.multipliedReportingOverflow(by: size)
            guard !overflow, total <= H5Group.maxAttributeElements else {
                throw error("attribute \(name) is too large (\(n) strings of \(size) bytes)")
            }
            H5Tset_size(mtype, size)
            H5Tset_strpad(mtype, H5T_STR_NULLPAD)
            var bytes = [UInt8](repeating: 0, count: total)
            guard H5Aread(attr, mtype, &bytes) >= 0 else { throw error("cannot read attribute \(name)") }
            return (0..<n).map { i in
                let slot = bytes[(i * size)..<((i + 1) * size)]
                let end = slot.firstIndex(of: 0) ?? slot.endIndex
                return String(decoding: slot[slot.startIndex..<end], as: UTF8.self)
            }
        }
    }

    // MARK: Writing

    /// Writes a scalar fixed-length string (what Keras 2.2.4 reads on any h5py).
    public func setStringAttribute(_ name: String, _ value: String) throws {
        try writeFixedStrings(name, [value], scalar: true)
    }

    /// Writes a scalar variable-length string (UTF-8 when `utf8`), as h5py 3 writes JSON configs.
    public func setVariableStringAttribute(_ name: String, _ value: String, utf8: Bool = false) throws {
        try H5Lib.run {
            try removeAttributeIfPresent(name)
            let t = H5Tcopy(shim_T_C_S1())
            defer { H5Tclose(t) }
            H5Tset_size(t, shim_T_VARIABLE())
            H5Tset_cset(t, utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII)
            let space = H5Screate(H5S_SCALAR)
            defer { H5Sclose(space) }
            let attr = H5Acreate2(id, name, t, space, H5Lib.defaultPL, H5Lib.defaultPL)
            guard attr >= 0 else { throw error("cannot create attribute \(name)") }
            defer { H5Aclose(attr) }
            let status: herr_t = value.withCString { cstr in
                var p: UnsafePointer<CChar>? = cstr
                return H5Awrite(attr, t, &p)
            }
            guard status >= 0 else { throw error("cannot write attribute \(name)") }
        }
    }

    /// Writes a list of strings the way every Keras generation reads it: fixed-length
    /// null-padded, split into `name0`, `name1`, ... when larger than 64512 bytes (Keras's own
    /// rule), and an empty float64 array of shape (0) for an empty list.
    public func setStringListAttribute(_ name: String, _ values: [String]) throws {
        if values.isEmpty {
            try H5Lib.run {
                try removeAttributeIfPresent(name)
                var dims: [hsize_t] = [0]
                let space = H5Screate_simple(1, &dims, nil)
                defer { H5Sclose(space) }
                let attr = H5Acreate2(id, name, shim_T_IEEE_F64LE(), space, H5Lib.defaultPL, H5Lib.defaultPL)
                guard attr >= 0 else { throw error("cannot create attribute \(name)") }
                H5Aclose(attr)
            }
            return
        }
        let maxLen = max(1, values.map { $0.utf8.count }.max() ?? 1)
        let n = values.count
        var k = 1
        // Smallest k whose largest piece (array_split: ceil(n/k) elements) fits the limit.
        while ((n + k - 1) / k) * maxLen > H5Group.kerasAttributeLimit { k += 1 }
        if k == 1 { try writeFixedStrings(name, values, scalar: false, width: maxLen); return }
        var start = 0
        for i in 0..<k {
            let count = n / k + (i < n % k ? 1 : 0)
            try writeFixedStrings("\(name)\(i)", Array(values[start..<(start + count)]), scalar: false, width: maxLen)
            start += count
        }
    }

    private func writeFixedStrings(_ name: String, _ values: [String], scalar: Bool, width: Int? = nil) throws {
        let size = width ?? max(1, values.map { $0.utf8.count }.max() ?? 1)
        var bytes = [UInt8](repeating: 0, count: size * values.count)
        for (i, v) in values.enumerated() {
            for (j, b) in v.utf8.prefix(size).enumerated() { bytes[i * size + j] = b }
        }
        try H5Lib.run {
            try removeAttributeIfPresent(name)
            let t = H5Tcopy(shim_T_C_S1())
            defer { H5Tclose(t) }
            H5Tset_size(t, size)
            H5Tset_strpad(t, H5T_STR_NULLPAD)
            var dims: [hsize_t] = [hsize_t(values.count)]
            let space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, nil)
            defer { H5Sclose(space) }
            let attr = H5Acreate2(id, name, t, space, H5Lib.defaultPL, H5Lib.defaultPL)
            guard attr >= 0 else { throw error("cannot create attribute \(name)") }
            defer { H5Aclose(attr) }
            guard H5Awrite(attr, t, bytes) >= 0 else { throw error("cannot write attribute \(name)") }
        }
    }

    private func removeAttributeIfPresent(_ name: String) throws {
        if H5Aexists(id, name) > 0, H5Adelete(id, name) < 0 { throw error("cannot replace attribute \(name)") }
    }
}
