"""Makes nnU-Net v1 plans files (`nnUNetPlansv2.1_plans_3D.pkl`) with nnU-Net 1.7.1's own
planning code, for `genesis verify MODEL --plans FILE.pkl` (issue 21, item 5).

Run with the peers' Python (nnunet 1.7.1 installed as scripts/make_nnunet_fixtures.py says, plus
what its planning modules import: `/opt/peers/bin/pip install SimpleITK matplotlib nibabel
scikit-learn medpy dicom2nifti`):
    /opt/peers/bin/python scripts/make_nnunet_v1_plans.py

nnU-Net v1 plans in three real steps, as `nnUNet_plan_and_preprocess` runs them after cropping:
a cropped-data folder is written the way nnunet.preprocessing.cropping leaves it (per case an
`.npz` with `data` = [CT, segmentation] and a `.pkl` of its properties, plus `dataset.json`);
nnunet's `DatasetAnalyzer.analyze_dataset()` writes `dataset_properties.pkl` from it (sizes,
spacings, classes, modalities, intensity statistics of the foreground); nnunet's
`ExperimentPlanner3D_v21.plan_experiment()` plans the network and pickles the plans with
`save_my_plans()`. Two CT cases of 64 x 128 x 128 voxels at 1 mm, one foreground label
(2 output classes), so the planner gives one stage (3d_fullres) with a 64 x 128 x 128 patch,
5 pools [[2,2,2] x 4, [1,2,2]] and 3x3x3 kernels: the layout of the official nnU-Net Genesis
model. The foreground's values are chosen so that the statistics DatasetAnalyzer computes (on
every 10th foreground voxel) are the normalisation Genesis_nnUNet.py trained with: percentiles
0.5 and 99.5 at -1000 and 1000 HU (1000 values at -1000, 70 at 1000), mean -775.8457 and
standard deviation 251.9326 (the rest at two values solved for them). Outputs
(Tests/References/nnunet/):

- `nnUNetPlans_v1_genesis.pkl`: the planner's defaults (base 32 features; Generic_UNet caps
  them at 320): the official nnU-Net Genesis network.
- `nnUNetPlans_v1_tiny.pkl`: the same with the planner's `unet_base_num_features` set to 4
  (as custom v1 planners do): the fixture network's base width; v1 plans record no width cap,
  the trainer's Generic_UNet uses 320, so the fixture (cap 8) differs from stage 2 on.

The cropped folder lives in /tmp/genesis-nnunet-v1-plans (its paths are in the pickles'
`list_of_npz_files`). Deterministic: numpy default_rng(0).
"""
import json, os, pickle, shutil
from collections import OrderedDict

import numpy as np
from nnunet.experiment_planning.DatasetAnalyzer import DatasetAnalyzer
from nnunet.experiment_planning.experiment_planner_baseline_3DUNet_v21 import ExperimentPlanner3D_v21

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "References", "nnunet")
WORK = "/tmp/genesis-nnunet-v1-plans"
SHAPE = (64, 128, 128)


def cropped_folder():
    shutil.rmtree(WORK, ignore_errors=True)
    cropped = os.path.join(WORK, "cropped")
    os.makedirs(cropped)
    rng = np.random.default_rng(0)
    fg = (slice(16, 48), slice(32, 96), slice(32, 96))
    count = 32 * 64 * 64
    picked = (count + 9) // 10  # DatasetAnalyzer keeps voxels[::10]
    mu, sd, n_lo, n_hi = -775.8457, 251.9326, 1000, 70
    rest = picked - n_lo - n_hi
    b = (mu * picked - n_hi * 1000 + n_lo * 1000) / rest
    a = np.sqrt(((sd ** 2 + mu ** 2) * picked - (n_lo + n_hi) * 1e6) / rest - b * b)
    assert rest % 2 == 0 and -1000 < b - a and b + a < 1000
    values = np.concatenate([np.full(n_lo, -1000.0), np.full(n_hi, 1000.0), np.tile([b - a, b + a], rest // 2)])
    per_voxel = np.repeat(values, 10)[:count].astype(np.float32)  # voxel j holds values[j // 10]
    json.dump({"name": "GenesisTinyV1", "modality": {"0": "CT"}, "labels": {"0": "background", "1": "nodule"},
               "numTraining": 2, "training": [], "test": []}, open(os.path.join(cropped, "dataset.json"), "w"))
    for i in range(2):
        ct = rng.normal(-600, 300, SHAPE).astype(np.float32)
        seg = np.zeros(SHAPE, np.float32)
        seg[fg] = 1
        ct[fg] = per_voxel.reshape(32, 64, 64)
        np.savez_compressed(os.path.join(cropped, f"case_{i:03d}.npz"), data=np.stack([ct, seg]))
        # What nnunet.preprocessing.cropping.ImageCropper stores per case (spacings in z, y, x).
        props = OrderedDict(original_size_of_raw_data=np.array(SHAPE), original_spacing=np.array([1.0, 1.0, 1.0]),
                            list_of_data_files=[f"case_{i:03d}_0000.nii.gz"], seg_file=f"case_{i:03d}.nii.gz",
                            itk_origin=(0.0, 0.0, 0.0), itk_spacing=(1.0, 1.0, 1.0), itk_direction=tuple(np.eye(3).ravel()),
                            crop_bbox=[[0, SHAPE[0]], [0, SHAPE[1]], [0, SHAPE[2]]], classes=np.array([0.0, 1.0]),
                            size_after_cropping=SHAPE)
        with open(os.path.join(cropped, f"case_{i:03d}.pkl"), "wb") as f:
            pickle.dump(props, f)
    return cropped


def plan(cropped, out_name, base=None):
    DatasetAnalyzer(cropped, overwrite=True, num_processes=1).analyze_dataset(collect_intensityproperties=True)
    pre = os.path.join(WORK, "preprocessed_" + out_name)
    os.makedirs(pre, exist_ok=True)
    planner = ExperimentPlanner3D_v21(cropped, pre)
    if base is not None:
        planner.unet_base_num_features = base
    planner.plan_experiment()
    shutil.copyfile(planner.plans_fname, os.path.join(HERE, out_name))
    with open(planner.plans_fname, "rb") as f:
        plans = pickle.load(f)
    stage = plans["plans_per_stage"][plans["num_stages"] - 1]
    print(out_name, "base", plans["base_num_features"], "patch", stage["patch_size"], "pools", stage["pool_op_kernel_sizes"],
          "kernels", stage["conv_kernel_sizes"], "schemes", dict(plans["normalization_schemes"]),
          "ct mean/sd", plans["dataset_properties"]["intensityproperties"][0]["mean"], plans["dataset_properties"]["intensityproperties"][0]["sd"])


if __name__ == "__main__":
    folder = cropped_folder()
    plan(folder, "nnUNetPlans_v1_genesis.pkl")
    plan(folder, "nnUNetPlans_v1_tiny.pkl", base=4)
