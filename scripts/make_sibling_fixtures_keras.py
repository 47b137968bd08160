"""The Keras half of make_sibling_fixtures.py, in its own process (TensorFlow and torch in one
process abort on LLVM's command-line options). Writes semantic_genesis_chest_ct.tiny.h5 and
its reference; see make_sibling_fixtures.py for what they are."""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py
import numpy as np

OUT, BASE, SHAPE, CLASSES = sys.argv[1], int(sys.argv[2]), (1, 16, 16, 8), 44


# ---------------------------------------------------------------------------------------------
# Keras: fhaghighi/SemanticGenesis keras/models/ynet3d.py `ynet_model_3d` (identical in TransVW)
# on tf_keras, encoder_weights/unet_weights None, deconvolution False, batch_normalization True;
# the head's 512 and 1024 made parameters.

def ynet_model_3d(input_shape, n_base_filters=32, head_filters=512, head_hidden=1024, cls_classes=44):
    import tf_keras as K
    L = K.layers
    K.backend.set_image_data_format("channels_first")

    def block(x, n, d):
        x = L.Conv3D(n, (3, 3, 3), padding="same", strides=(1, 1, 1), name="depth_" + str(d) + "_conv")(x)
        x = L.BatchNormalization(axis=1, name="depth_" + str(d) + "_bn")(x)
        return L.Activation("relu", name="depth_" + str(d) + "_relu")(x)

    inputs = L.Input(input_shape)
    current, levels, num_layer, depth = inputs, [], 0, 4
    for layer_depth in range(depth):
        l1 = block(current, n_base_filters * (2 ** layer_depth), num_layer); num_layer += 1
        l2 = block(l1, n_base_filters * (2 ** layer_depth) * 2, num_layer); num_layer += 1
        if layer_depth < depth - 1:
            current = L.MaxPooling3D(pool_size=(2, 2, 2))(l2)
            levels.append([l1, l2, current])
        else:
            current = l2
            levels.append([l1, l2])
    for layer_depth in range(depth - 2, -1, -1):
        up = L.UpSampling3D(size=(2, 2, 2))(current)
        concat = L.concatenate([up, levels[layer_depth][1]], axis=1)
        n = levels[layer_depth][1].shape[1]
        current = block(concat, n, num_layer); num_layer += 1
        current = block(current, n, num_layer); num_layer += 1
    final = L.Conv3D(1, (1, 1, 1), name="final_conv")(current)
    act = L.Activation("sigmoid", name="reconst_output")(final)
    unet_model = K.models.Model(inputs=inputs, outputs=act)
    cls_input = unet_model.get_layer('depth_7_relu').output
    layer1 = block(cls_input, head_filters, num_layer)
    cls_conv2 = L.GlobalAveragePooling3D()(layer1)
    cls_fc = L.Dense(head_hidden, activation="relu", name='cls_fc')(cls_conv2)
    cls_output = L.Dense(cls_classes, activation="softmax", name='cls_output')(cls_fc)
    return K.models.Model(inputs, [unet_model.output, cls_output])


def seeded_bn_statistics(model, rng):
    """Non-trivial moving statistics (a fresh network has 0 and 1), so that inference mode
    tells them apart from the batch's."""
    import tf_keras as K
    for layer in model.layers:
        if isinstance(layer, K.layers.BatchNormalization):
            g, b, m, v = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, g.shape).astype(np.float32), rng.uniform(-0.2, 0.2, b.shape).astype(np.float32),
                               rng.uniform(-0.1, 0.1, m.shape).astype(np.float32), rng.uniform(0.5, 1.5, v.shape).astype(np.float32)])


def write_reference(path, arrays, attrs):
    with h5py.File(path, "w") as f:
        for k, v in arrays.items():
            f.create_dataset(k, data=np.asarray(v, dtype=np.float32))
        for k, v in attrs.items():
            f.attrs[k] = v


def keras_fixture(rng, x):
    import tf_keras as K
    K.utils.set_random_seed(0)
    model = ynet_model_3d(SHAPE, n_base_filters=BASE, head_filters=16 * BASE, head_hidden=32 * BASE, cls_classes=CLASSES)
    seeded_bn_statistics(model, rng)
    model.compile(optimizer=K.optimizers.Adam(learning_rate=1e-3),
                  loss={'reconst_output': 'mse', 'cls_output': 'categorical_crossentropy'},
                  loss_weights={'reconst_output': 1, 'cls_output': 0.01}, metrics={'reconst_output': ['mse'], 'cls_output': ['accuracy']})
    labels = np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, 2)]
    model.train_on_batch(x, {'reconst_output': x, 'cls_output': labels})
    path = os.path.join(OUT, "semantic_genesis_chest_ct.tiny.h5")
    model.save(path)  # ModelCheckpoint(save_weights_only=False) -> model.save
    seg, cls = model.predict(x, verbose=0)
    write_reference(os.path.join(OUT, "semantic_genesis_chest_ct.tiny.reference.h5"), {"input": x, "seg_output": seg, "cls_output": cls},
                    {"bn": "inference (Keras predict: moving statistics, epsilon 1e-3)", "base_filters": BASE})
    # The trunk alone must load into the official Genesis unet_model_3d: checked by interop_siblings.py.
    return path



if __name__ == "__main__":
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (2,) + SHAPE).astype(np.float32)
    print(keras_fixture(rng, x))
