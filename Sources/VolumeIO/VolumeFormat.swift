import Tensors

/// Which reader a path goes to: by its name, else by its first bytes.
enum VolumeFormat {
    case nifti, metaImage

    static func detect(_ path: String) throws -> VolumeFormat {
        let lower = path.lowercased()
        if lower.hasSuffix(".nii") || lower.hasSuffix(".nii.gz") { return .nifti }
        if lower.hasSuffix(".mhd") || lower.hasSuffix(".mha") { return .metaImage }
        let head = try GzipFile.prefix(path, count: 348)
        let text = String(decoding: head.prefix(64), as: UTF8.self)
        if MetaImageHeader.keys.contains(where: { text.hasPrefix($0 + " ") || text.hasPrefix($0 + "=") }) { return .metaImage }
        let looksNIfTI = head.count >= 4 && [[0x5c, 0x01, 0, 0], [0, 0, 0x01, 0x5c], [0x1c, 0x02, 0, 0], [0, 0, 0x02, 0x1c]]
            .contains(Array(head[0..<4]))
        throw VolumeError(file: path, what: "name", expected: "a .nii, .nii.gz, .mhd or .mha file",
                          found: looksNIfTI ? "a NIfTI header under another name (libnifti finds files by name: rename it to .nii or .nii.gz)"
                                            : FileKind.describe(prefix: (try? FileIO.readPrefix(path, count: FileKind.prefixBytes)) ?? head))
    }
}
