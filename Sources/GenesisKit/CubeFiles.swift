import Foundation
import Tensors
import VolumeIO

/// The cube files of a run (one or more .npy, commas): their row counts from the headers alone,
/// and rows read by global index (file order of all the files), so that a rank of a
/// data-parallel run reads its own rows and no more.
public struct CubeFiles {
    public let list: String
    public let paths: [String]
    /// Rows (cubes) in each file.
    public let counts: [Int]

    public var total: Int { counts.reduce(0, +) }

    public init(_ list: String) throws {
        self.list = list
        paths = list.split(separator: ",").map(String.init).filter { !$0.isEmpty }
        counts = try paths.map { p -> Int in
            let h = try NPY.header(p)
            // The full shape is checked as the rows are read (`VolumeBatch.networkInput`).
            guard let n = h.shape.first else { throw WorkflowError(subject: p, message: "cubes must be (N, D, H, W) or (N, 1, D, H, W), found a scalar") }
            return n
        }
        guard total > 0 else { throw WorkflowError(subject: list, message: "no cubes") }
    }

    /// Rows `rows` (global, ascending, distinct) as float32 (rows.count, 1, D, H, W), checked
    /// finite and of one shape (`spatial` when given); nil when `rows` is empty.
    public func read(rows: [Int], expect spatial: [Int]?) throws -> Tensor? {
        var values: [Float] = [], shape: [Int]?, first = 0
        for (path, n) in zip(paths, counts) {
            defer { first += n }
            let local = rows.filter { $0 >= first && $0 < first + n }.map { $0 - first }
            guard !local.isEmpty else { continue }
            let t = try VolumeBatch.readNPYRows(path, rows: local)
            let s = Array(t.shape[2...])
            if let shape, shape != s { throw WorkflowError(subject: path, message: "cubes of \(s), the other files' are \(shape)") }
            if let v = VolumeBatch.nonFinite(t) {
                throw WorkflowError(subject: path, message: "\(v.count) values are NaN or Inf (first at index \(v.firstIndex)): training needs finite cubes")
            }
            shape = s
            values += t.floats()
        }
        guard let shape else { return nil }
        if let spatial, spatial != shape { throw WorkflowError(subject: list, message: "cubes of \(shape), the run was trained on \(spatial)") }
        return Tensor(shape: [rows.count, 1] + shape, floats: values)
    }
}
