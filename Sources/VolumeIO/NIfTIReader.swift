internal import CNIfTI
import Tensors

/// NIfTI-1 and NIfTI-2 (`.nii`, `.nii.gz`, either byte order) read through libnifti2.
///
/// libnifti prints to stderr and reads whatever a header claims, so every step is checked
/// before the library is asked for the next one: the first bytes (through zlib, for size and
/// version via `nifti_header_version`), the header (`nifti_hdr1/2_looks_good`), then the image
/// struct from `nifti_image_read(path, 0)` (dims multiplied with overflow checks and capped,
/// datatype, single-file, data within the file), and only then `nifti_image_load`. Its debug
/// level is 0, so what it would print goes unsaid and our one error says it.
enum NIfTIReader {
    static func read(_ path: String, maxVoxels: Int) throws -> Volume {
        func fail(_ what: String, _ expected: String, _ found: String) -> VolumeError {
            VolumeError(file: path, what: what, expected: expected, found: found)
        }
        let fileSize: Int
        do { fileSize = try FileIO.size(of: path) } catch {
            throw fail("file", "a readable regular file", "\(error)")
        }
        let gz = path.hasSuffix(".gz")
        nifti_set_debug_level(0)

        // 1. The first bytes: enough for the header the version calls for.
        let head = try GzipFile.prefix(path, count: 544)
        guard head.count >= 4 else { throw fail("header", "a NIfTI header (348 or 540 bytes)", "the file ends after \(head.count) bytes") }
        if head.starts(with: Array("<nifti_image".utf8)) {
            throw fail("header", "a binary NIfTI-1 or NIfTI-2 header", "the ASCII (.nia) form, which is not read")
        }
        // sizeof_hdr, in either byte order, says how long the header is.
        let first = UInt32(head[0]) | UInt32(head[1]) << 8 | UInt32(head[2]) << 16 | UInt32(head[3]) << 24
        let swapped = first.byteSwapped
        guard let headerBytes = [348, 540].first(where: { UInt32($0) == first || UInt32($0) == swapped }) else {
            throw fail("header", "sizeof_hdr 348 (NIfTI-1) or 540 (NIfTI-2)", "\(first) (not a NIfTI file, or damaged)")
        }
        let needsSwap = UInt32(headerBytes) != first
        guard head.count >= headerBytes else {
            throw fail("header", "\(headerBytes) bytes of NIfTI header", "the file ends after \(head.count)\(gz ? " decompressed" : "") bytes")
        }
        let version = head.withUnsafeBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) { nifti_header_version($0, buf.count) }
        }
        switch version {
        case 1, 2:
            guard (version == 1) == (headerBytes == 348) else {
                throw fail("magic", "the magic of a \(headerBytes)-byte header", "NIfTI-\(version)'s")
            }
        case 0: throw fail("magic", "n+1 (NIfTI-1) or n+2 (NIfTI-2)", "an ANALYZE 7.5 header (no NIfTI magic)")
        default: throw fail("magic", "n+1 (NIfTI-1) or n+2 (NIfTI-2)", "neither (not a NIfTI file, or damaged)")
        }

        // 2. The header's fields, as the library judges them (after its own byte swap: its
        // looks_good checks read the fields as they are), and the raw scl_slope/scl_inter
        // (nifti_image_read replaces non-finite ones by 0, which nibabel does not).
        var nver: Int32 = 0
        guard let raw = nifti_read_header(path, &nver, 0) else {
            throw fail("header", "a header libnifti can read", "none")
        }
        defer { cnifti_free(raw) }
        guard nver == version else { throw fail("header", "NIfTI-\(version)", "NIfTI-\(nver) on a second read") }
        if needsSwap { swap_nifti_header(raw, nver) }
        let looksGood: Int32
        let rawSlope: Double, rawInter: Double
        if nver == 1 {
            let h = raw.assumingMemoryBound(to: nifti_1_header.self)
            looksGood = nifti_hdr1_looks_good(h)
            (rawSlope, rawInter) = (Double(h.pointee.scl_slope), Double(h.pointee.scl_inter))
        } else {
            let h = raw.assumingMemoryBound(to: nifti_2_header.self)
            looksGood = nifti_hdr2_looks_good(h)
            (rawSlope, rawInter) = (h.pointee.scl_slope, h.pointee.scl_inter)
        }
        guard looksGood != 0 else {
            throw fail("header", "dim[0] in 1...7, positive dims, a NIfTI datatype (libnifti's header check)", "a header that fails it")
        }
        let scaling = try NIfTIScaling(slope: rawSlope, intercept: rawInter, file: path)

        // 3. The image struct, header only; every size checked before the data is loaded.
        guard let nim = nifti_image_read(path, 0) else {
            throw fail("header", "a header libnifti converts to an image", "one it refuses")
        }
        defer { nifti_image_free(nim) }
        let im = nim.pointee
        guard im.nifti_type == NIFTI_FTYPE_NIFTI1_1 || im.nifti_type == NIFTI_FTYPE_NIFTI2_1 else {
            throw fail("magic", "a single-file NIfTI (n+1 or n+2)", "a header/image pair (ni1/ni2), which is not read")
        }
        let shape = try checkedShape(im, path: path)
        var voxels = 1
        for d in shape {
            let (p, overflow) = voxels.multipliedReportingOverflow(by: d)
            guard !overflow, p <= maxVoxels else {
                throw fail("dims", "at most \(maxVoxels) voxels", "\(shape.map(String.init).joined(separator: "x"))\(overflow ? " (overflows)" : "")")
            }
            voxels = p
        }
        guard im.nvox == Int64(voxels) else { throw fail("dims", "nvox \(voxels)", "\(im.nvox)") }
        guard let type = StoredType(niftiCode: im.datatype), Int(im.nbyper) == type.bytes else {
            throw fail("datatype", "uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32 or float64",
                       "\(String(cString: nifti_datatype_string(im.datatype))) (code \(im.datatype))")
        }
        let (dataBytes, bytesOverflow) = voxels.multipliedReportingOverflow(by: type.bytes)
        guard !bytesOverflow else { throw fail("dims", "a data size that fits in 64 bits", "\(voxels) voxels of \(type.bytes) bytes") }
        let offset = Int(im.iname_offset)
        guard offset >= headerBytes else { throw fail("vox_offset", "at least \(headerBytes)", "\(offset)") }
        let (end, endOverflow) = offset.addingReportingOverflow(dataBytes)
        guard !endOverflow else { throw fail("vox_offset", "an offset that fits with the data", "\(offset)") }
        if gz {
            let (most, overflow) = fileSize.multipliedReportingOverflow(by: ZlibInflate.maxRatio)
            guard overflow || most >= end else {
                throw fail("data", "\(dataBytes) bytes of \(type.name) after offset \(offset)",
                           "a \(fileSize)-byte gzip file, which inflates to at most \(most)")
            }
        } else {
            guard end <= fileSize else {
                throw fail("data", "\(dataBytes) bytes of \(type.name) from offset \(offset) (\(shape.map(String.init).joined(separator: "x")))",
                           "\(max(0, fileSize - offset)) bytes: the file is cut short")
            }
        }

        // 4. The data, byte-swapped to this machine by libnifti; then scaled as nibabel does.
        guard nifti_image_load(nim) == 0, let data = nim.pointee.data else {
            throw fail("data", "\(dataBytes) bytes of \(type.name) after offset \(offset)",
                       gz ? "fewer: the gzip stream is cut short or damaged" : "fewer than the header claims")
        }
        let floats = VoxelDecoding.floats(UnsafeRawBufferPointer(start: data, count: dataBytes), type: type,
                                          swapBytes: false, scaling: scaling)
        let geometry = try NIfTIGeometry.geometry(of: im, shape: shape, file: path)
        return Volume(shape: shape, voxels: floats, geometry: geometry,
                      format: version == 2 ? "nifti2" : "nifti1", storedType: type.name)
    }

    /// i, j, k (always three, 1 where the file has fewer) and t when the file has a fourth
    /// axis; axes 5 to 7 must be 1.
    static func checkedShape(_ im: nifti_image, path: String) throws -> [Int] {
        let ndim = Int(im.ndim)
        let dims = [im.nx, im.ny, im.nz, im.nt, im.nu, im.nv, im.nw].map { Int($0) }
        guard (1...7).contains(ndim), dims[0..<ndim].allSatisfy({ $0 >= 1 }) else {
            throw VolumeError(file: path, what: "dims", expected: "dim[0] in 1...7 and positive sizes", found: "dim[0] \(ndim), sizes \(dims)")
        }
        guard ndim <= 4 || dims[4..<ndim].allSatisfy({ $0 == 1 }) else {
            throw VolumeError(file: path, what: "dims", expected: "at most 4 axes (i, j, k, t)", found: "\(dims[0..<ndim].map(String.init).joined(separator: "x"))")
        }
        let rank = max(3, min(ndim, 4))
        return (0..<rank).map { $0 < ndim ? dims[$0] : 1 }
    }
}

/// nibabel's rule for `scl_slope`/`scl_inter` (`Nifti1Header.get_slope_inter`): a slope of 0
/// or a non-finite slope means unscaled; a finite slope with a non-finite intercept is an
/// error; slope 1 and intercept 0 is unscaled; otherwise v * slope + inter, in float64.
struct NIfTIScaling {
    let slope: Double
    let intercept: Double
    var isIdentity: Bool { slope == 1 && intercept == 0 }

    static let identity = NIfTIScaling(slope: 1, intercept: 0)

    private init(slope: Double, intercept: Double) {
        self.slope = slope
        self.intercept = intercept
    }

    init(slope: Double, intercept: Double, file: String) throws {
        if slope == 0 || !slope.isFinite { self = .identity; return }
        guard intercept.isFinite else {
            throw VolumeError(file: file, what: "scl_inter", expected: "a finite intercept with scl_slope \(slope)", found: "\(intercept)")
        }
        self.init(slope: slope, intercept: intercept)
    }
}
