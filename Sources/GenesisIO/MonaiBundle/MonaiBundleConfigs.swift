import Foundation
import GenesisModel

/// What a MONAI bundle says about the network it holds, and the files that say it: the MONAI
/// bundle specification's `configs/metadata.json` and `configs/inference.json`, `docs/README.md`
/// and `LICENSE`. Everything here is data from the payload and the caller (the licence text);
/// nothing is guessed.
public struct MonaiBundleSpec: Sendable, Equatable {
    /// The `network_def` arguments (`scripts/genesis_unet.py`'s `GenesisUNet3D`).
    public var labels: Int
    public var baseFilters: Int
    public var batchStatistics: Bool
    public var bnEpsilon: Double
    /// Where the weights came from (the payload's provenance).
    public var sourceFile: String?
    public var sourceSHA256: String?
    public var sourceFormat: String?
    /// The format the weights were trained in (`genesis_source_format`), e.g. keras-h5.
    public var trainedIn: String?

    /// The versions the bundle was checked with (`scripts/interop_monai.py`): MONAI's metadata
    /// asks for the versions a bundle works with.
    public static let monaiVersion = "1.6.1"
    public static let pytorchVersion = "2.15.0"
    public static let numpyVersion = "2.4.6"
    public static let nibabelVersion = "5.4.2"
    public static let igniteVersion = "0.5.5"
    public static let schemaURL = "https://github.com/Project-MONAI/MONAI-extra-test-data/releases/download/0.8.1/meta_schema_20220324.json"
    /// The Genesis cube (channel, rows, cols, slices), and the multiple every spatial size must be.
    public static let patch = [64, 64, 32]
    public static let multiple = 8

    var mode: String { batchStatistics ? "batch" : "inference" }

    /// MONAI's symbolic spatial size: multiples of 8, and with batch statistics at least 16 (an
    /// 8-voxel side leaves one value per channel at the bottleneck, which a batch of one cannot
    /// normalise).
    var spatialShape: [String] { Self.patch.map { _ in batchStatistics ? "\(2 * Self.multiple)*n" : "\(Self.multiple)*n" } }

    /// `configs/metadata.json`.
    func metadata(bundleVersion: String) -> [String: Any] {
        let image: [String: Any] = [
            "type": "image", "format": "magnitude", "modality": "CT", "num_channels": 1,
            "spatial_shape": spatialShape, "dtype": "float32", "value_range": [0, 1],
            "is_patch_data": true, "channel_def": ["0": "CT in HU clipped to [-1000, 1000], scaled to [0, 1]"],
        ]
        let pred: [String: Any] = [
            "type": "image", "format": "magnitude", "num_channels": labels,
            "spatial_shape": spatialShape, "dtype": "float32", "value_range": [0, 1],
            "is_patch_data": true,
            "channel_def": Dictionary(uniqueKeysWithValues: (0..<labels).map { ("\($0)", labels == 1 ? "restored image (sigmoid)" : "channel \($0) (sigmoid)") }),
        ]
        var genesis: [String: Any] = [
            "writer": GenesisWriter.name, "family": "models-genesis-unet3d", "variant": "torch", "base_filters": baseFilters, "labels": labels,
            "bn_mode": mode, "bn_epsilon": bnEpsilon, "spatial_multiples": [Self.multiple, Self.multiple, Self.multiple],
            "input_window": "genesis: HU clipped to [-1000, 1000], scaled to [0, 1]",
        ]
        if let sourceFile { genesis["source_file"] = sourceFile }
        if let sourceSHA256 { genesis["source_sha256"] = sourceSHA256 }
        if let sourceFormat { genesis["source_format"] = sourceFormat }
        if let trainedIn { genesis["trained_in"] = trainedIn }
        return [
            "schema": Self.schemaURL, "version": bundleVersion,
            "changelog": [bundleVersion: "written by \(GenesisWriter.name) from \(sourceFile ?? "a model")\(sourceSHA256.map { " (sha256 \($0))" } ?? "")"],
            "monai_version": Self.monaiVersion, "pytorch_version": Self.pytorchVersion, "numpy_version": Self.numpyVersion,
            "optional_packages_version": ["nibabel": Self.nibabelVersion, "pytorch-ignite": Self.igniteVersion],
            "name": "Models Genesis 3D U-Net (base \(baseFilters))",
            "task": "Self-supervised pretrained 3D U-Net for CT (image restoration); a starting point for segmentation and classification fine-tuning",
            "description": "The Models Genesis 3D U-Net (Zhou et al., MICCAI 2019 / MedIA 2020) in the PyTorch layout: ConvTranspose3d up-sampling, BatchNorm "
                + (batchStatistics ? "with each batch's own statistics (the official ContBatchNorm3d)" : "with the running statistics")
                + ", epsilon \(bnEpsilon), sigmoid output. Input: CT cubes whose sides are multiples of \(Self.multiple), HU clipped to [-1000, 1000] and scaled to [0, 1].",
            "authors": "Zongwei Zhou, Vatsal Sodha, Jiaxuan Pang, Michael B. Gotway, Jianming Liang (Models Genesis); bundle written by genesis",
            "copyright": "See LICENSE: the weights' licence, as the source's zoo manifest or the --license file gives it",
            "data_source": "The Models Genesis pretraining: LUNA16 chest CT (self-supervised)",
            "data_type": "nifti",
            "image_classes": "single-channel CT, HU clipped to [-1000, 1000] and scaled to [0, 1]",
            "pred_classes": labels == 1 ? "the restored image (sigmoid)" : "\(labels) sigmoid channels",
            "intended_use": "Research: transfer learning for 3D medical image analysis. Not for clinical use.",
            "references": ["Zhou Z, Sodha V, Pang J, Gotway MB, Liang J. Models Genesis. Medical Image Analysis 67:101840, 2021.",
                           "Zhou Z et al. Models Genesis: Generic Autodidactic Models for 3D Medical Image Analysis. MICCAI 2019."],
            "network_data_format": ["inputs": ["image": image], "outputs": ["pred": pred]],
            "genesis": genesis,
        ]
    }

    /// `configs/inference.json`: NIfTI files in `dataset_dir` through the Genesis window, a
    /// sliding window of the Genesis cube (one cube at a time with batch statistics, which would
    /// otherwise mix the windows of a batch), predictions saved as NIfTI in `output_dir`.
    var inference: [String: Any] {
        [
            "imports": ["$import glob", "$import os"],
            "bundle_root": ".",
            "output_dir": "$@bundle_root + '/eval'",
            "dataset_dir": "$@bundle_root + '/data'",
            "datalist": "$list(sorted(glob.glob(os.path.join(@dataset_dir, '*.nii*'))))",
            "device": "$torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')",
            "network_def": ["_target_": "scripts.genesis_unet.\(MonaiBundleNetworkModule.className)", "n_class": labels, "base": baseFilters,
                            "batch_statistics": batchStatistics, "eps": bnEpsilon] as [String: Any],
            "network": "$@network_def.to(@device)",
            "preprocessing": ["_target_": "Compose", "transforms": [
                ["_target_": "LoadImaged", "keys": "image"],
                ["_target_": "EnsureChannelFirstd", "keys": "image"],
                ["_target_": "ScaleIntensityRanged", "keys": "image", "a_min": -1000, "a_max": 1000, "b_min": 0.0, "b_max": 1.0, "clip": true] as [String: Any],
                ["_target_": "DivisiblePadd", "keys": "image", "k": Self.multiple] as [String: Any],
                ["_target_": "EnsureTyped", "keys": "image"],
            ]] as [String: Any],
            "dataset": ["_target_": "Dataset", "data": "$[{'image': i} for i in @datalist]", "transform": "@preprocessing"],
            "dataloader": ["_target_": "DataLoader", "dataset": "@dataset", "batch_size": 1, "shuffle": false, "num_workers": 0] as [String: Any],
            "inferer": ["_target_": "SlidingWindowInferer", "roi_size": Self.patch, "sw_batch_size": batchStatistics ? 1 : 4, "overlap": 0.25] as [String: Any],
            "postprocessing": ["_target_": "Compose", "transforms": [
                ["_target_": "SaveImaged", "keys": "pred", "meta_keys": "image_meta_dict", "output_dir": "@output_dir",
                 "output_postfix": "genesis", "resample": false, "separate_folder": false] as [String: Any],
            ]] as [String: Any],
            "handlers": [
                ["_target_": "CheckpointLoader", "load_path": "$@bundle_root + '/models/model.pt'", "load_dict": ["model": "@network"], "strict": true] as [String: Any],
                ["_target_": "StatsHandler", "iteration_log": false] as [String: Any],
            ],
            "evaluator": ["_target_": "SupervisedEvaluator", "device": "@device", "val_data_loader": "@dataloader", "network": "@network",
                          "inferer": "@inferer", "postprocessing": "@postprocessing", "val_handlers": "@handlers", "amp": false] as [String: Any],
            "initialize": ["$monai.utils.set_determinism(seed=0)"],
            "run": ["$@evaluator.run()"],
        ]
    }

    /// `docs/README.md`.
    func readme(licenceSummary: String) -> String {
        """
        # Models Genesis 3D U-Net (MONAI bundle)

        The Models Genesis 3D U-Net (base width \(baseFilters), \(labels) output channel\(labels == 1 ? "" : "s")), pretrained by
        self-supervision on chest CT (Zhou et al., *Models Genesis*, Medical Image Analysis 67, 2021), in the
        layout of the official PyTorch code (`pytorch/unet3d.py` of github.com/MrGiovanni/ModelsGenesis).

        ## Where it came from

        Written by \(GenesisWriter.name) from `\(sourceFile ?? "a model")`\(sourceSHA256.map { " (SHA-256 `\($0)`)" } ?? "")\(sourceFormat.map { ", a `\($0)` file" } ?? "")\(trainedIn.map { "; the weights were trained in `\($0)`" } ?? "").
        `models/model.pt` is the state dict of `scripts/genesis_unet.py`'s `GenesisUNet3D`, loaded with `strict=True`;
        genesis read it back tensor by tensor and ran it against the source before writing this bundle.

        ## The network

        - Input: (N, 1, D, H, W), every spatial size a multiple of \(Self.multiple); CT in HU clipped to [-1000, 1000] and
          scaled to [0, 1] (the pipeline in `configs/inference.json` does this, and pads to the multiple).
        - BatchNorm: \(batchStatistics ? "each batch's own statistics, as the official `ContBatchNorm3d` normalises in every mode (the output of a cube depends on the cubes batched with it: the sliding window runs one cube at a time)" : "the running statistics (`batch_statistics: false`)"); epsilon \(bnEpsilon). Set `network_def#batch_statistics` to choose.
        - Output: the sigmoid of \(labels) channel\(labels == 1 ? "" : "s") (the restored image for a pretraining model).

        ## Run it

            python -m monai.bundle run --config_file configs/inference.json --dataset_dir /path/to/nifti --output_dir out

        from this directory (so that `scripts` is importable). To check and export it:

            python -m monai.bundle verify_net_in_out network_def --meta_file configs/metadata.json --config_file configs/inference.json
            python -m monai.bundle ckpt_export network_def --filepath models/model.ts --ckpt_file models/model.pt \\
                --meta_file configs/metadata.json --config_file configs/inference.json

        ## Licence

        \(licenceSummary) The full text is in `LICENSE`. The code in `scripts/` was written by genesis (MIT).
        """ + "\n"
    }
}
