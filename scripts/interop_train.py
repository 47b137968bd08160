"""Training interoperability (issue 9; not in CI; needs the peers: ../shared/peers/setup.sh).

A checkpoint written by `genesis pretrain` continues in the framework it came from without a
seam: from the fixture models, one step here (`--transforms none --no-shuffle`, the
reference's input and target), then
- PyTorch: torch.load(weights_only=True), strict load into the official UNet3D, the optimizer
  state into torch.optim.SGD, and the next step there (forward, MSELoss, backward, step);
- tf_keras: load_model (compiled from the file's training_config) and train_on_batch;
and the loss of that next step is compared with the loss `genesis pretrain --resume` gives for
its next step (1e-5 relative).

usage: /opt/peers/bin/python scripts/interop_train.py [path/to/genesis]
"""
import json, os, subprocess, sys, tempfile
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "peers"))
FIXTURES = os.path.join(HERE, "..", "..", "shared", "fixtures")
GENESIS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", ".build", "release", "genesis")
results = []


def g(*args):
    r = subprocess.run([GENESIS, *args, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"genesis {' '.join(args)}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def report(what, ok, detail=""):
    results.append(bool(ok))
    print(("PASS " if ok else "FAIL ") + what + (f": {detail}" if detail else ""), flush=True)


def two_steps_here(model, ckpt, d, kind):
    ref = h5py.File(os.path.join(FIXTURES, kind, "genesis_tiny.reference.h5"))
    x, t = ref["input"][()], ref["target"][()]
    np.save(os.path.join(d, "x.npy"), x)
    np.save(os.path.join(d, "t.npy"), t)
    common = ["--data", os.path.join(d, "x.npy"), "--targets", os.path.join(d, "t.npy"), "--transforms", "none",
              "--batch", "2", "--no-shuffle", "--out", ckpt]
    first = g("pretrain", "--init", model, "--steps", "1", *common)
    saved = ckpt + ".after1" + os.path.splitext(ckpt)[1]
    with open(ckpt, "rb") as a, open(saved, "wb") as b:
        b.write(a.read())
    second = g("pretrain", "--resume", ckpt, "--steps", "2", *common)
    return x, t, first["losses"][0], second["losses"][0], saved


def torch_check(d):
    import torch
    from torch_genesis import UNet3D
    ckpt = os.path.join(d, "run.pt")
    x, t, l1, l2, saved = two_steps_here(os.path.join(FIXTURES, "torch", "genesis_tiny.pt"), ckpt, d, "torch")
    c = torch.load(saved, weights_only=True)
    m = torch.nn.DataParallel(UNet3D(base=4))
    missing = m.load_state_dict(c["state_dict"], strict=True)
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    opt.load_state_dict(c["optimizer_state_dict"])
    loss = torch.nn.functional.mse_loss(m(torch.from_numpy(x)), torch.from_numpy(t))
    opt.zero_grad(); loss.backward(); opt.step()
    rel = abs(loss.item() - l2) / l2
    report("PyTorch: torch.load(weights_only=True) of genesis pretrain's .pt, strict load into DataParallel(UNet3D), optimizer into torch.optim.SGD",
           True, f"keys {sorted(c.keys())}, lr {opt.param_groups[0]['lr']}, momentum buffers {len(opt.state)}")
    report("PyTorch next step loss == genesis --resume next step loss", rel <= 1e-5, f"{loss.item():.9g} vs {l2:.9g} (rel {rel:.2e})")


def keras_check(d):
    import tf_keras as K
    ckpt = os.path.join(d, "run.h5")
    x, t, l1, l2, saved = two_steps_here(os.path.join(FIXTURES, "keras", "genesis_tiny.h5"), ckpt, d, "keras")
    m = K.models.load_model(saved)
    n_opt = len(m.optimizer.variables())
    loss = float(m.train_on_batch(x, t))
    rel = abs(loss - l2) / l2
    report("tf_keras: load_model of genesis pretrain's .h5 (compiled from its training_config)", n_opt > 1,
           f"{type(m.optimizer).__name__} lr {float(m.optimizer.learning_rate):.3g}, {n_opt} optimizer variables, iterations {int(m.optimizer.iterations)}")
    report("tf_keras train_on_batch loss == genesis --resume next step loss", rel <= 1e-5, f"{loss:.9g} vs {l2:.9g} (rel {rel:.2e})")


with tempfile.TemporaryDirectory() as d:
    for check in (torch_check, keras_check):
        try:
            check(d)
        except Exception as e:  # noqa: BLE001 - report and go on
            report(check.__name__, False, repr(e)[:300])
print(json.dumps({"passed": sum(results), "failed": len(results) - sum(results)}))
sys.exit(0 if all(results) else 1)
