import Foundation
import Tensors
import TestSupport

/// Damaged copies of a valid file, made deterministically from a seed: truncations at many
/// offsets, bit flips in the header and in the data, and, by format, size fields claiming 10^12
/// elements and offsets past the end. Each mutation says what it did, for the failure message.
struct DamagedFile {
    let name: String
    let bytes: [UInt8]
}

enum FileKind: String, CaseIterable {
    case kerasH5 = "keras .h5", keras3 = "keras3 .keras", torchZip = "torch .pt (zip)", torchLegacy = "torch .pt (legacy)"
    case safetensors = "safetensors", native = ".genesis", npy = ".npy"

    /// Where the header ends (bit flips there hit structure, not tensor bytes).
    func headerEnd(_ b: [UInt8]) -> Int {
        switch self {
        case .safetensors, .native:
            guard b.count >= 8 else { return b.count }
            return min(b.count, 8 + Int(b[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) } & 0xFFFF_FFFF))
        case .npy:
            guard b.count >= 10 else { return b.count }
            return min(b.count, 10 + Int(b[8]) + Int(b[9]) << 8)
        case .kerasH5: return min(b.count, 2048)  // superblock, root group, first heaps
        case .keras3, .torchZip, .torchLegacy: return min(b.count, 1024)
        }
    }
}

struct DamagedFileGenerator {
    var rng: SeededGenerator
    /// Truncations, header flips and data flips per source file.
    let truncations: Int, headerFlips: Int, dataFlips: Int

    init(seed: UInt64, truncations: Int, headerFlips: Int, dataFlips: Int) {
        rng = SeededGenerator(seed: seed)
        self.truncations = truncations
        self.headerFlips = headerFlips
        self.dataFlips = dataFlips
    }

    mutating func damaged(_ original: [UInt8], kind: FileKind, allowDataFlips: Bool = true) -> [DamagedFile] {
        var out: [DamagedFile] = []
        let n = original.count
        // Truncations: empty, one byte, the first 8 and the header's end, then spread over the file.
        var cuts: Set<Int> = [0, 1, 8, max(0, kind.headerEnd(original) - 1), n - 1]
        while cuts.count < truncations + 5 { cuts.insert(Int.random(in: 0..<n, using: &rng)) }
        for c in cuts.sorted() where c < n { out.append(DamagedFile(name: "truncated-at-\(c)", bytes: Array(original[..<c]))) }
        let headerEnd = max(1, kind.headerEnd(original))
        for _ in 0..<headerFlips {
            let at = Int.random(in: 0..<headerEnd, using: &rng), bit = UInt8(1 << Int.random(in: 0..<8, using: &rng))
            var b = original
            b[at] ^= bit
            out.append(DamagedFile(name: "header-bit-\(at)-\(bit)", bytes: b))
        }
        if allowDataFlips, headerEnd < n {
            for _ in 0..<dataFlips {
                let at = Int.random(in: headerEnd..<n, using: &rng), bit = UInt8(1 << Int.random(in: 0..<8, using: &rng))
                var b = original
                b[at] ^= bit
                out.append(DamagedFile(name: "data-bit-\(at)-\(bit)", bytes: b))
            }
        }
        out += structural(original, kind: kind)
        return out
    }

    /// Size fields claiming 10^12 elements and offsets past the end, where the format has them
    /// in a place we can rewrite without breaking a checksum first.
    func structural(_ b: [UInt8], kind: FileKind) -> [DamagedFile] {
        switch kind {
        case .safetensors, .native:
            let end = kind.headerEnd(b)
            guard var header = String(bytes: b[8..<end], encoding: .utf8) else { return [] }
            var out: [DamagedFile] = []
            if let r = header.range(of: #""shape":\[[0-9,]*\]"#, options: .regularExpression) {
                var h = header
                h.replaceSubrange(r, with: #""shape":[1000000,1000000]"#)
                out.append(DamagedFile(name: "shape-10^12-elements", bytes: Self.reframed(h, data: b[end...])))
            }
            if let r = header.range(of: #""data_offsets":\[[0-9]+,[0-9]+\]"#, options: .regularExpression) {
                header.replaceSubrange(r, with: #""data_offsets":[0,4000000000000]"#)
                out.append(DamagedFile(name: "offsets-past-the-end", bytes: Self.reframed(header, data: b[end...])))
            }
            var lying = b
            for k in 0..<8 { lying[k] = UInt8((UInt64(b.count) >> (8 * UInt64(k))) & 0xFF) }
            out.append(DamagedFile(name: "header-length-is-the-file-length", bytes: lying))
            return out
        case .npy:
            let end = kind.headerEnd(b)
            guard let header = String(bytes: b[10..<end], encoding: .ascii),
                  let r = header.range(of: #"'shape': \([0-9, ]*\)"#, options: .regularExpression) else { return [] }
            var out: [DamagedFile] = []
            for (name, shape) in [("shape-10^12-elements", "(1000000, 1000000)"), ("shape-past-the-end", "(2, 1, 64, 64, 64)")] {
                var h = header
                h.replaceSubrange(r, with: "'shape': \(shape)")
                let padded = Array(h.utf8.prefix(end - 10))
                guard padded.count <= end - 10 else { continue }
                let fill = [UInt8](repeating: 0x20, count: end - 10 - padded.count)
                var bytes = Array(b[..<10]) + padded + fill
                bytes[end - 1] = 0x0A
                out.append(DamagedFile(name: name, bytes: bytes + Array(b[end...])))
            }
            return out
        case .keras3, .torchZip:
            // The end-of-central-directory record: its directory offset past the end of the file.
            guard b.count >= 22, let eocd = (0...(b.count - 22)).reversed().first(where: { b[$0] == 0x50 && b[$0 + 1] == 0x4B && b[$0 + 2] == 5 && b[$0 + 3] == 6 }) else { return [] }
            var past = b
            for (k, v) in [UInt8(0xF0), 0xFF, 0xFF, 0x7F].enumerated() { past[eocd + 16 + k] = v }
            var many = b
            for k in 8..<12 { many[eocd + k] = 0xFF }  // 65,535 entries claimed
            return [DamagedFile(name: "central-directory-past-the-end", bytes: past), DamagedFile(name: "entry-count-65535", bytes: many)]
        case .kerasH5, .torchLegacy:
            return []
        }
    }

    static func reframed(_ header: String, data: ArraySlice<UInt8>) -> [UInt8] {
        let h = Array(header.utf8)
        return (0..<8).map { UInt8((UInt64(h.count) >> (8 * UInt64($0))) & 0xFF) } + h + Array(data)
    }
}
