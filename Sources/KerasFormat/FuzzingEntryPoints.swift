/// The `model_config` / `training_config` parser on a string, for the fuzz targets
/// (Sources/FuzzTargets): the readers only reach it through an HDF5 attribute or a `.keras` zip.
@_spi(Fuzzing) public enum KerasFuzzing {
    /// Parses `json` as a model config (throws `KerasError`) and as a training config (never throws).
    public static func parseConfigs(_ json: String, file: String = "<fuzz>") throws {
        _ = KerasConfigParser.optimizer(trainingConfig: json)
        _ = try KerasConfigParser.modelConfig(json, file: file)
    }
}
