import CHDF5
import Tensors

/// An open HDF5 group. Member names, attributes and datasets are addressed by paths relative
/// to it (`depth_0_conv/kernel:0` walks the subgroup; `:` is legal in HDF5 names).
public final class H5Group {
    public let file: H5File
    public let path: String
    let id: hid_t

    private init(file: H5File, id: hid_t, path: String) {
        self.file = file
        self.id = id
        self.path = path
    }

    static func open(in file: H5File, parent: hid_t, name: String, path: String) throws -> H5Group {
        try H5Lib.run {
            let id = H5Gopen2(parent, name, H5Lib.defaultPL)
            guard id >= 0 else { throw HDF5Error(file: file.path, path: path, operation: "cannot open group", detail: H5Lib.errorStack()) }
            return H5Group(file: file, id: id, path: path)
        }
    }

    deinit { _ = H5Lib.run { H5Gclose(id) } }

    /// `path` joined to a relative name.
    public func childPath(_ name: String) -> String { path == "/" ? "/" + name : path + "/" + name }

    func error(_ op: String, _ name: String = "") -> HDF5Error {
        HDF5Error(file: file.path, path: name.isEmpty ? path : childPath(name), operation: op, detail: H5Lib.errorStack())
    }

    // MARK: Members

    /// Opens a subgroup by relative path.
    public func group(_ name: String) throws -> H5Group {
        try H5Group.open(in: file, parent: id, name: name, path: childPath(name))
    }

    /// Creates a subgroup (intermediate groups included).
    @discardableResult
    public func createGroup(_ name: String) throws -> H5Group {
        try H5Lib.run {
            let lcpl = H5Pcreate(shim_P_LINK_CREATE())
            defer { H5Pclose(lcpl) }
            H5Pset_create_intermediate_group(lcpl, 1)
            let gcpl = shim_gcpl_untimed()
            defer { H5Pclose(gcpl) }
            let g = H5Gcreate2(id, name, lcpl, gcpl, H5Lib.defaultPL)
            guard g >= 0 else { throw error("cannot create group", name) }
            return H5Group(file: file, id: g, path: childPath(name))
        }
    }

    /// Whether a link exists at the relative path (each component checked in turn).
    public func exists(_ name: String) -> Bool {
        H5Lib.run {
            var prefix = ""
            for part in name.split(separator: "/", omittingEmptySubsequences: true) {
                prefix = prefix.isEmpty ? String(part) : prefix + "/" + part
                guard H5Lexists(id, prefix, H5Lib.defaultPL) > 0 else { _ = H5Lib.errorStack(); return false }
            }
            return !prefix.isEmpty
        }
    }

    public enum MemberKind: Sendable { case group, dataset, other }

    /// What the object at a relative path is; soft and external links count as `other` and are
    /// never followed.
    public func kind(of name: String) throws -> MemberKind {
        try H5Lib.run {
            let link = shim_link_kind(id, name)
            guard link >= 0 else { throw error("no such member", name) }
            guard link == 0 else { return .other }
            switch shim_object_kind(id, name) {
            case 0: return .group
            case 1: return .dataset
            case 2: return .other
            default: throw error("cannot open member", name)
            }
        }
    }

    /// Member names in HDF5's (byte-wise name) order. Keras order comes from attributes.
    public func memberNames() throws -> [String] {
        try H5Lib.run {
            final class Box { var names: [String] = [] }
            let box = Box()
            let status = shim_list_members(id, { name, ctx in
                Unmanaged<Box>.fromOpaque(ctx!).takeUnretainedValue().names.append(String(cString: name!))
                return 0
            }, Unmanaged.passUnretained(box).toOpaque())
            guard status >= 0 else { throw error("cannot list members") }
            return box.names
        }
    }
}
