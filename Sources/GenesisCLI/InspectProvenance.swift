import GenesisIO

/// Who wrote a file, and what a `.genesis` file records of its origin: `inspect`'s last lines
/// and its `writer`, `provenance` and `bn_epsilon` JSON fields.
extension InspectRendering {
    static func addProvenance(_ s: FileSummary, to out: inout [String: Any?]) {
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

    static func provenanceText(_ s: FileSummary) {
        if let w = s.writer { CLIOutput.line("written by: \(w)") }
        guard let r = s.recorded else { return }
        CLIOutput.line("batchnorm: epsilon \(r.bnEpsilon), momentum \(r.bnMomentum) (\(r.bnMomentumConvention) convention)")
        if let f = r.sourceFile ?? r.sourceFormat {
            let what = [r.sourceFormat, r.sourceFormatVersion.map { "version \($0)" }].compactMap { $0 }.joined(separator: ", ")
            CLIOutput.line("source: \(f)\(what.isEmpty || r.sourceFile == nil ? "" : " (\(what))")")
        } else {
            CLIOutput.line("source: none recorded (written from scratch)")
        }
        if let h = r.sourceSHA256 { CLIOutput.line("source sha256: \(h)") }
        if !r.conversion.isEmpty {
            CLIOutput.line("conversion:")
            for step in r.conversion { CLIOutput.line("  - \(step)") }
        }
        let training = [r.epoch.map { "epoch \($0)" }, r.step.map { "step \($0)" }].compactMap { $0 }
        CLIOutput.line("training: \(training.isEmpty ? "no epoch or step recorded" : training.joined(separator: ", "))")
        CLIOutput.line("data sha256: \(r.dataSHA256)")
    }
}
