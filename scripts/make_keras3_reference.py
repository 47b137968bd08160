"""Makes Tests/References/keras3_tiny_tfkeras.h5: the outputs TensorFlow
(tf_keras 2.21) computes for the weights of fixtures/keras3/genesis_tiny.keras on the input of
fixtures/keras3/genesis_tiny.keras3.reference.h5, in both BatchNorm modes.

Why: that fixture's own `output_inference` was computed by Keras 3.15 (TensorFlow backend),
whose channels_first Conv3D adds the bias along the last spatial axis instead of the channel
axis when the two have the same size (W = 8 = filters of depth_1 here). This script shows it,
then stores TensorFlow's correct outputs for the same weights. Run with the peers' Python:
    /opt/peers/bin/python scripts/make_keras3_reference.py
"""
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "..", "shared", "fixtures")
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "peers"))
import h5py, keras, numpy as np, torch
from keras_genesis import unet_model_3d

k3 = keras.models.load_model(os.path.join(FIX, "keras3", "genesis_tiny.keras"))
ref = h5py.File(os.path.join(FIX, "keras3", "genesis_tiny.keras3.reference.h5"), "r")
x = ref["input"][()]

# The Keras 3 defect, shown on one layer: bias broadcast on W, not on channels.
conv = k3.get_layer("depth_1_conv")
kernel, bias = conv.get_weights()
h = np.random.default_rng(0).random((2, 4, 16, 16, 8), dtype=np.float32)
y0 = torch.nn.functional.conv3d(torch.from_numpy(h), torch.from_numpy(kernel.transpose(4, 3, 0, 1, 2).copy()), padding=1).numpy()
print("Keras 3 depth_1_conv vs conv + bias on channels:", np.abs(conv(h).numpy() - (y0 + bias.reshape(1, -1, 1, 1, 1))).max())
print("Keras 3 depth_1_conv vs conv + bias on W:       ", np.abs(conv(h).numpy() - (y0 + bias.reshape(1, 1, 1, 1, -1))).max())

tk = unet_model_3d((1, 16, 16, 8), n_base_filters=4)
for layer in k3.layers:
    if layer.weights:
        name = "conv3d_1" if layer.name == "conv3d" else layer.name
        tk.get_layer(name).set_weights(layer.get_weights())
inference = tk.predict(x, verbose=0)
batch = tk(x, training=True).numpy()
print("tf_keras vs the fixture's Keras 3 output_inference:", np.abs(inference - ref["output_inference"][()]).max())
out = os.path.join(HERE, "..", "Tests", "References", "keras3_tiny_tfkeras.h5")
with h5py.File(out, "w") as f:
    f["input"], f["output_inference"], f["output_batchstats"] = x, inference, batch
    f.attrs["made_by"] = "scripts/make_keras3_reference.py (tf_keras 2.21 on the weights of fixtures/keras3/genesis_tiny.keras)"
print("wrote", out)
