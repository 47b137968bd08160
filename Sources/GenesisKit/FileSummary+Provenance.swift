import GenesisIO

/// Who wrote a file, and what a `.genesis` file records of its origin: `inspect`'s last lines
/// and its `writer`, `provenance` and `bn_epsilon` JSON fields.
extension FileSummary {
    /// Adds `writer`, `provenance`, `bn_epsilon`, `bn_momentum`, `training`, `data_sha256` to `out`.
    public func addProvenance(to out: inout [String: Any?]) {
        let s = self
        out["writer"] = s.writer as Any?
        guard let r = s.recorded else {
            out["provenance"] = nil as Any?
            return
        }
        out["provenance"] = [
            "source_file": r.sourceFile, "source_sha256": r.sourceSHA256, "source_format": r.sourceFormat,
            "source_format_version": r.sourceFormatVersion, "conversion": r.conversion, "created_by": r.createdBy,
        ] as [String: Any?]
        out["bn_epsilon"] = r.bnEpsilon
        out["bn_momentum"] = ["value": r.bnMomentum, "convention": r.bnMomentumConvention] as [String: Any]
        out["training"] = ["epoch": r.epoch, "step": r.step] as [String: Any?]
        out["data_sha256"] = r.dataSHA256
    }

    /// The lines a person reads of the same.
    public var provenanceLines: [String] {
        let s = self
        var lines: [String] = []
        if let w = s.writer { lines.append("written by: \(w)") }
        guard let r = s.recorded else { return lines }
        lines.append("batchnorm: epsilon \(r.bnEpsilon), momentum \(r.bnMomentum) (\(r.bnMomentumConvention) convention)")
        if let f = r.sourceFile ?? r.sourceFormat {
            let what = [r.sourceFormat, r.sourceFormatVersion.map { "version \($0)" }].compactMap { $0 }.joined(separator: ", ")
            lines.append("source: \(f)\(what.isEmpty || r.sourceFile == nil ? "" : " (\(what))")")
        } else {
            lines.append("source: none recorded (written from scratch)")
        }
        if let h = r.sourceSHA256 { lines.append("source sha256: \(h)") }
        if !r.conversion.isEmpty {
            lines.append("conversion:")
            for step in r.conversion { lines.append("  - \(step)") }
        }
        let training = [r.epoch.map { "epoch \($0)" }, r.step.map { "step \($0)" }].compactMap { $0 }
        lines.append("training: \(training.isEmpty ? "no epoch or step recorded" : training.joined(separator: ", "))")
        lines.append("data sha256: \(r.dataSHA256)")
        return lines
    }
}
