"""sobelcli.dask: lazy edge maps and convolutions on dask arrays, chunk borders everywhere.

Each result is compared bit for bit with the in-memory public API on the computed array, and
with scipy (ndimage for the pad modes, signal for the convolutions) as an independent oracle.
Chunks of 1 to 5 pixels put a chunk border on nearly every row and column.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
ndimage = pytest.importorskip("scipy.ndimage")
signal = pytest.importorskip("scipy.signal")

import sobelcli  # noqa: E402
from sobelcli import dask as sdask  # noqa: E402

PADS = [None, "reflect", "mirror", "nearest", "constant", "wrap"]
OPERATORS = ["sobel", "scharr", "prewitt"]
KINDS = ["magnitude", "x", "y", "angle"]
PAIRS = {
    "sobel": (sobelcli.SOBEL_X, sobelcli.SOBEL_Y),
    "scharr": (sobelcli.SCHARR_X, sobelcli.SCHARR_Y),
    "prewitt": (sobelcli.PREWITT_X, sobelcli.PREWITT_Y),
}


@pytest.fixture(autouse=True)
def synchronous() -> Iterator[None]:
    """One thread: tiny graphs run fastest without a pool, and the results are the same."""
    with dask.config.set(scheduler="synchronous"):
        yield


def same(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    assert np.array_equal(got, expected), np.abs(got - expected).max()


@pytest.mark.parametrize("operator", OPERATORS)
@pytest.mark.parametrize("pad", PADS)
def test_every_kind_equals_in_memory_bit_for_bit(pad: str | None, operator: str) -> None:
    rng = np.random.default_rng(7)
    img = rng.random((11, 13))
    lazy = da.from_array(img, chunks=(2, 3))
    maps = {
        (kind, normalize): sdask.edge_map(lazy, kind, operator, normalize, pad)  # type: ignore[arg-type]
        for kind in KINDS
        for normalize in (True, False)
    }
    computed = dask.compute(maps)[0]
    for (kind, normalize), got in computed.items():
        same(got, sobelcli.edge_map(img, kind, operator, normalize, pad))  # type: ignore[arg-type]
    small = img.astype(np.float32)
    got32 = sdask.edge_magnitude(da.from_array(small, chunks=(3, 2)), operator, pad).compute()
    same(got32, sobelcli.edge_magnitude(small, operator, pad=pad))


@settings(max_examples=25, deadline=None)
@given(
    shape=st.tuples(st.integers(3, 14), st.integers(3, 14)),
    chunks=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    pad=st.sampled_from(PADS),
    operator=st.sampled_from(OPERATORS),
    kind=st.sampled_from(KINDS),
    normalize=st.booleans(),
    dtype=st.sampled_from([np.float64, np.float32, np.float16, np.uint8, np.int16, np.bool_]),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_chunkings_equal_in_memory(
    shape: tuple[int, int],
    chunks: tuple[int, int],
    pad: str | None,
    operator: str,
    kind: str,
    normalize: bool,
    dtype: type,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    img = (rng.random(shape) * 200 - 50).astype(dtype)
    got = sdask.edge_map(da.from_array(img, chunks=chunks), kind, operator, normalize, pad)  # type: ignore[arg-type]
    same(got.compute(), sobelcli.edge_map(img, kind, operator, normalize, pad))  # type: ignore[arg-type]


@pytest.mark.parametrize("pad", PADS[1:])
def test_pad_modes_match_scipy_ndimage(pad: str) -> None:
    rng = np.random.default_rng(3)
    img = rng.random((9, 10))
    for operator, (kx, ky) in PAIRS.items():
        gx, gy = sdask.edge_gradients(da.from_array(img, chunks=2), operator, pad)
        cx, cy = dask.compute(gx, gy)
        np.testing.assert_allclose(cx, ndimage.correlate(img, kx, mode=pad), atol=1e-12)
        np.testing.assert_allclose(cy, ndimage.correlate(img, ky, mode=pad), atol=1e-12)
    mag = sdask.edge_magnitude(da.from_array(img, chunks=3), pad=pad, normalize=False)
    sx, sy = (
        ndimage.correlate(img, PAIRS["sobel"][0], mode=pad),
        ndimage.correlate(img, PAIRS["sobel"][1], mode=pad),
    )
    np.testing.assert_allclose(mag.compute(), np.hypot(sx, sy), atol=1e-12)


def test_valid_magnitude_matches_scipy_signal() -> None:
    img = np.random.default_rng(4).random((12, 9))
    raw = np.hypot(
        signal.correlate2d(img, sobelcli.SOBEL_X, "valid"),
        signal.correlate2d(img, sobelcli.SOBEL_Y, "valid"),
    )
    got = sdask.edge_magnitude(da.from_array(img, chunks=(1, 2))).compute()
    assert got.shape == (10, 7)
    np.testing.assert_allclose(got, raw / raw.max(), atol=1e-12)


def test_thin_images_with_a_pad_mode() -> None:
    for shape, pad in [((1, 7), "nearest"), ((2, 2), "mirror"), ((5, 1), "wrap")]:
        img = np.random.default_rng(5).random(shape)
        got = sdask.edge_magnitude(da.from_array(img, chunks=1), pad=pad).compute()
        same(got, sobelcli.edge_magnitude(img, pad=pad))


def test_gradients_share_their_chunk_tasks_and_keep_chunks() -> None:
    img = np.random.default_rng(6).random((11, 13))
    lazy = da.from_array(img, chunks=(4, 5))
    gx, gy = sdask.edge_gradients(lazy, "scharr", "wrap")
    assert gx.chunks == lazy.chunks  # a pad mode keeps the input's chunks
    ex, ey = sobelcli.edge_gradients(img, "scharr", "wrap")
    cx, cy = dask.compute(gx, gy)
    same(cx, ex)
    same(cy, ey)
    valid = sdask.edge_magnitude(lazy)
    assert valid.chunks == ((4, 4, 1), (5, 5, 1))  # the input's, cut at H - 2 and W - 2


def test_two_passes_equal_one() -> None:
    img = np.random.default_rng(8).random((10, 10)).astype(np.float32)
    lazy = da.from_array(img, chunks=3)
    for kind in ("magnitude", "x", "y"):
        raw = sdask.edge_map(lazy, kind, normalize=False)  # type: ignore[arg-type]
        maxima = sdask.block_maxima(raw, kind).compute()  # type: ignore[arg-type]
        assert maxima.shape == raw.numblocks
        top = maxima.max()
        assert top == sdask.edge_maximum(raw, kind).compute()  # type: ignore[arg-type]
        two_pass = sdask.normalize_edges(raw, kind, top).compute()  # type: ignore[arg-type]
        same(two_pass, sobelcli.edge_map(img, kind))  # type: ignore[arg-type]


def test_a_flat_image_normalises_to_zeros() -> None:
    flat = da.ones((6, 7), chunks=2)
    same(sdask.edge_magnitude(flat).compute(), np.zeros((4, 5)))
    same(sdask.edge_map(flat, "x").compute(), np.full((4, 5), 0.5))


def test_results_are_lazy() -> None:
    calls: list[int] = []

    def count(block: np.ndarray) -> np.ndarray:
        calls.append(1)
        return block

    source = da.from_array(np.random.default_rng(9).random((8, 8)), chunks=3)
    lazy = source.map_blocks(count, dtype=np.float64, meta=np.empty((0, 0)))
    results = [sdask.edge_map(lazy, kind, pad="reflect") for kind in KINDS]  # type: ignore[arg-type]
    results.append(sdask.grad_input(sdask.correlate2d(lazy, sobelcli.SOBEL_X), sobelcli.SOBEL_X))
    assert all(isinstance(r, da.Array) for r in results)
    assert calls == []
    results[0].compute()
    assert calls


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("chunks", [1, (2, 3)])
def test_correlate2d_and_grad_input_bit_for_bit(dtype: type, chunks: object) -> None:
    rng = np.random.default_rng(10)
    x = rng.random((8, 9)).astype(dtype)
    dy = rng.random((6, 5)).astype(dtype)
    kernels = [
        sobelcli.SOBEL_X,
        rng.standard_normal((2, 5)),
        rng.standard_normal((4, 4)),
        np.outer([1.0, 2.0, 3.0], [1.0, -1.0]),
        np.array([[2.0]]),
    ]
    lx, ldy = da.from_array(x, chunks=chunks), da.from_array(dy, chunks=chunks)
    for k in kernels:
        methods = ["direct", "auto", "fft"]
        if np.linalg.matrix_rank(k) == 1:
            methods.append("separable")
        for method in methods:
            got = sdask.correlate2d(lx, k, method=method).compute()  # type: ignore[arg-type]
            want = sobelcli.correlate2d(x, k, method=method)  # type: ignore[arg-type]
            gin = sdask.grad_input(ldy, k, method=method).compute()  # type: ignore[arg-type]
            gwant = sobelcli.grad_input(dy, k, method=method)  # type: ignore[arg-type]
            if method in ("direct", "separable"):
                same(got, want)
                same(gin, gwant)
            tol = 1e-4 if dtype is np.float32 else 1e-10
            np.testing.assert_allclose(got, signal.correlate2d(x, k, "valid"), atol=tol)
            np.testing.assert_allclose(gin, signal.convolve2d(dy, k, "full"), atol=tol)


def test_eager_errors_match_the_in_memory_messages() -> None:
    lazy = da.from_array(np.zeros((5, 5)), chunks=2)
    for call, args in [
        (sobelcli.edge_magnitude, {"operator": "canny"}),
        (sobelcli.edge_magnitude, {"pad": "zero"}),
        (sobelcli.edge_map, {"kind": "phase"}),
    ]:
        with pytest.raises(ValueError) as expected:
            call(np.zeros((5, 5)), **args)
        twin = getattr(sdask, call.__name__)
        with pytest.raises(ValueError) as got:
            twin(lazy, **args)
        assert str(got.value) == str(expected.value)
    with pytest.raises(ValueError, match="smaller than the 3 x 3 kernel"):
        sdask.edge_magnitude(da.zeros((2, 9), chunks=2))
    with pytest.raises(ValueError, match="mirror"):
        sdask.edge_magnitude(da.zeros((1, 9), chunks=2), pad="mirror")
    with pytest.raises(ValueError, match="2-D"):
        sdask.edge_magnitude(da.zeros((3, 4, 5), chunks=2))
    with pytest.raises(ValueError, match="real numbers"):
        sdask.edge_magnitude(da.zeros((5, 5), dtype=complex, chunks=2))
    with pytest.raises(TypeError, match="dask.array.Array"):
        sdask.edge_magnitude(np.zeros((5, 5)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="larger than image"):
        sdask.correlate2d(lazy, np.ones((6, 2)))
    with pytest.raises(ValueError, match="unknown method"):
        sdask.correlate2d(lazy, np.ones((2, 2)), method="winograd")  # type: ignore[arg-type]


def test_cluster_edge_options_check_what_the_engine_checks_and_their_own() -> None:
    from sobelcli.dask.options import EdgeOptions
    from sobelcli.engine.stream import EdgeOptions as Engine

    for bad in ({"operator": "canny"}, {"kind": "phase"}, {"pad": "zero"}):
        with pytest.raises(ValueError) as expected:
            Engine(**bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError) as got:
            EdgeOptions(**bad)  # type: ignore[arg-type]
        assert str(got.value) == str(expected.value)
    for bad, words in [
        ({"dtype": "float16"}, "dtype"),
        ({"chunk": 2}, "at least 3"),
        ({"threshold": 0.5, "normalize": False}, "normalise"),
        ({"threshold": 2.0}, r"\[0, 1\]"),
    ]:
        with pytest.raises(ValueError, match=words):
            EdgeOptions(**bad)  # type: ignore[arg-type]
    assert EdgeOptions(kind="angle").passes == 1 and EdgeOptions().passes == 2


def test_nan_is_reported_when_computed() -> None:
    img = np.zeros((6, 6))
    img[4, 1] = np.nan
    lazy = sdask.edge_magnitude(da.from_array(img, chunks=2))
    with pytest.raises(ValueError, match="NaN"):
        lazy.compute()


def test_importing_sobelcli_and_its_help_import_no_dask() -> None:
    code = (
        "import runpy, sys\n"
        "import sobelcli\n"
        "sobelcli.edge_magnitude\n"
        "sys.argv = ['sobelcli', '--help']\n"
        "try:\n"
        "    runpy.run_module('sobelcli', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = {m.split('.')[0] for m in sys.modules} & {'dask', 'distributed', 'zarr'}\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout
