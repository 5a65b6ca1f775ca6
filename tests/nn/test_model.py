"""The lab's CNN: shapes, parameter count, a whole-network gradient check, optimizer, files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sobelcli.nn import (
    ModelFileError,
    RMSprop,
    lab_cnn,
    load_model,
    save_model,
    softmax_cross_entropy,
)
from sobelcli.nn.layers import glorot_uniform


def test_architecture_matches_the_lab():
    model = lab_cnn(seed=0)
    assert model.count_params() == 93_322
    assert [r[1] for r in model.summary_rows()] == [
        "(None, 26, 26, 32)",
        "(None, 13, 13, 32)",
        "(None, 11, 11, 64)",
        "(None, 5, 5, 64)",
        "(None, 3, 3, 64)",
        "(None, 576)",
        "(None, 64)",
        "(None, 10)",
    ]
    assert [r[2] for r in model.summary_rows()] == [
        "320",
        "0",
        "18,496",
        "0",
        "36,928",
        "0",
        "36,928",
        "650",
    ]
    assert model.layers[0].name == "conv2d" and model.layers[4].name == "conv2d_2"
    assert all(p.dtype == np.float32 for p in model.named_params().values())


def test_glorot_limits_and_zero_biases():
    model = lab_cnn(seed=3)
    k = model.layers[2].params["kernel"]  # 3x3, 32 -> 64
    limit = np.sqrt(6 / (9 * 32 + 9 * 64))
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.9 * limit
    assert not model.layers[2].params["bias"].any()
    rng = np.random.default_rng(0)
    w = glorot_uniform(rng, (1000,), 10, 20)
    assert np.abs(w).max() <= np.sqrt(6 / 30)


def test_seed_reproducible():
    a, b = lab_cnn(seed=5), lab_cnn(seed=5)
    for k, v in a.named_params().items():
        np.testing.assert_array_equal(v, b.named_params()[k])
    assert not np.array_equal(
        a.layers[0].params["kernel"], lab_cnn(seed=6).layers[0].params["kernel"]
    )


def _loss(model, x, t):
    return softmax_cross_entropy(model.forward(x), t)[0]


def test_whole_network_gradient_check_float64():
    rng = np.random.default_rng(0)
    model = lab_cnn(seed=1).astype(np.float64)
    # Non-zero biases so that ReLUs sit away from their kink at the start.
    for layer in model.layers:
        if "bias" in layer.params:
            layer.params["bias"] = rng.uniform(0.05, 0.1, layer.params["bias"].shape)
    x = rng.random((3, 28, 28, 1))
    t = np.array([3, 7, 1])
    loss, dlogits, _ = softmax_cross_entropy(model.forward(x, training=True), t)
    model.backward(dlogits)
    grads = model.named_grads()
    assert set(grads) == set(model.named_params())
    eps = 1e-6
    for name, w in model.named_params().items():
        g = grads[name]
        assert g.shape == w.shape and g.dtype == np.float64
        flat = np.argsort(np.abs(g).ravel())[-3:]  # the largest entries, plus a random one
        flat = np.append(flat, rng.integers(0, w.size))
        for i in flat:
            idx = np.unravel_index(i, w.shape)
            old = w[idx]
            w[idx] = old + eps
            up = _loss(model, x, t)
            w[idx] = old - eps
            down = _loss(model, x, t)
            w[idx] = old
            numeric = (up - down) / (2 * eps)
            assert abs(numeric - g[idx]) <= 1e-7 + 1e-4 * max(abs(numeric), abs(g[idx])), (
                name,
                idx,
                numeric,
                g[idx],
            )


def test_replica_shares_weights_not_caches():
    model = lab_cnn(seed=0)
    twin = model.replica()
    assert twin.layers[0].params["kernel"] is model.layers[0].params["kernel"]
    assert twin.layers[0] is not model.layers[0]


def test_rmsprop_step_matches_formula():
    w = np.array([1.0, -2.0])
    g = np.array([0.5, 0.1])
    opt = RMSprop(lr=0.01, rho=0.9, eps=1e-7)
    opt.step({"w": w}, {"w": g})
    v = 0.1 * g**2
    np.testing.assert_allclose(w, np.array([1.0, -2.0]) - 0.01 * g / (np.sqrt(v) + 1e-7))
    opt.step({"w": w}, {"w": g})
    v = 0.9 * v + 0.1 * g**2
    with pytest.raises(ValueError):
        RMSprop(lr=0)


def test_save_and_load_round_trip(tmp_path):
    model = lab_cnn(seed=2)
    path = tmp_path / "m.npz"
    save_model(path, model, meta={"history": [{"epoch": 1, "loss": 0.5}], "seed": 2})
    loaded, meta = load_model(path)
    assert meta["seed"] == 2 and meta["history"][0]["loss"] == 0.5
    for k, v in model.named_params().items():
        np.testing.assert_array_equal(v, loaded.named_params()[k])
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary file left
    x = np.random.default_rng(0).random((2, 28, 28, 1)).astype(np.float32)
    np.testing.assert_array_equal(model.predict_proba(x), loaded.predict_proba(x))


def test_save_failure_leaves_nothing(tmp_path, monkeypatch):
    model = lab_cnn(seed=2)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError):
        save_model(tmp_path / "m.npz", model)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [b"", b"not a zip", None])
def test_load_model_errors_name_the_file(tmp_path, content):
    path = tmp_path / "bad.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelFileError, match="bad.npz"):
        load_model(path)


def test_load_model_rejects_other_npz(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.zeros(3))
    with pytest.raises(ModelFileError, match="other.npz: not a sobelcli model"):
        load_model(path)
    model = lab_cnn(seed=0)
    arrays = {k: v for k, v in model.named_params().items()}
    arrays["conv2d/kernel"] = np.zeros((5, 5, 1, 32), np.float32)
    np.savez(path, meta=np.array(json.dumps({"format": "sobelcli-cnn-1"})), **arrays)
    with pytest.raises(ModelFileError, match="shape"):
        load_model(path)


def test_relu_pool_fusion_changes_nothing():
    rng = np.random.default_rng(4)
    fused = lab_cnn(seed=4).astype(np.float64)
    plain = fused.replica()
    for layer in plain.layers:
        layer.relu_in_pool = layer.relu_first = False
    assert fused.layers[0].relu_in_pool and fused.layers[1].relu_first
    assert not fused.layers[4].relu_in_pool  # conv2d_2 is followed by Flatten
    x = rng.random((4, 28, 28, 1))
    t = np.array([0, 1, 2, 3])
    for model in (fused, plain):
        _, d, _ = softmax_cross_entropy(model.forward(x, training=True), t)
        model.backward(d)
    np.testing.assert_allclose(fused.forward(x), plain.forward(x), rtol=1e-12)
    for k, g in fused.named_grads().items():
        np.testing.assert_allclose(g, plain.named_grads()[k], rtol=1e-10, atol=1e-14)
