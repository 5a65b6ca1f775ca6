"""sobelcli.engine against independent oracles (scipy.signal, scipy.ndimage).

Every path runs in several strip/thread configurations: one strip on one thread, many
strips (ragged last strip) on one thread, and many strips over 2 and 3 threads, forced on
small images by shrinking STRIP_BYTES, MIN_STRIP_ROWS and THREAD_MIN_PIXELS. No test
measures time.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage, signal

from sobelcli import engine as _engine
from sobelcli.core import correlate as conv
from sobelcli.core.kernels import SMOOTH, SOBEL_X, SOBEL_Y
from sobelcli.engine import strips as _strips

VALUES = st.floats(-8, 8, allow_nan=False, allow_infinity=False, width=32)

#: name -> (STRIP_BYTES, MIN_STRIP_ROWS, THREAD_MIN_PIXELS, thread limit)
CONFIGS = {
    "one-strip": (1 << 30, 4, 1 << 40, "1"),
    "strips": (1, 1, 1 << 40, "1"),
    "strips-of-3": (1, 3, 1 << 40, "1"),
    "threads-2": (1, 2, 1, "2"),
    "threads-3": (1, 1, 1, "3"),
}


@pytest.fixture(params=sorted(CONFIGS))
def config(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    strip, min_rows, min_pixels, threads = CONFIGS[request.param]
    monkeypatch.setattr(_strips, "STRIP_BYTES", strip)
    monkeypatch.setattr(_strips, "MIN_STRIP_ROWS", min_rows)
    monkeypatch.setattr(_strips, "THREAD_MIN_PIXELS", min_pixels)
    monkeypatch.setattr(_strips, "_thread_limit", int(threads))
    return str(request.param)


def _set_config(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    strip, min_rows, min_pixels, threads = CONFIGS[name]
    monkeypatch.setattr(_strips, "STRIP_BYTES", strip)
    monkeypatch.setattr(_strips, "MIN_STRIP_ROWS", min_rows)
    monkeypatch.setattr(_strips, "THREAD_MIN_PIXELS", min_pixels)
    monkeypatch.setattr(_strips, "_thread_limit", int(threads))


#: Hypothesis draws the configuration of each example, so every one meets every path.
CONFIG = st.sampled_from(sorted(CONFIGS))


@contextmanager
def engine_config(name: str) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        _set_config(mp, name)
        yield


@st.composite
def image_and_kernel(draw: st.DrawFn, max_side: int = 30, dtype: type = np.float64):
    """An image of 1..max_side rows/cols and a kernel no larger than it."""
    h = draw(st.integers(1, max_side))
    w = draw(st.integers(1, max_side))
    kh = draw(st.integers(1, h))
    kw = draw(st.integers(1, w))
    x = draw(arrays(dtype, (h, w), elements=VALUES.map(dtype)))
    k = draw(arrays(dtype, (kh, kw), elements=VALUES.map(dtype)))
    return x, k


def _scale(x: np.ndarray, k: np.ndarray) -> float:
    """Bound on any output's magnitude: sum |k| * max |x| (at least 1)."""
    return max(1.0, float(np.abs(k).sum()) * float(np.abs(x).max()))


def _close(actual: np.ndarray, expected: np.ndarray, scale: float, rel: float) -> None:
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rel * scale)


def _oracle(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    return signal.correlate2d(x.astype(np.float64), k.astype(np.float64), mode="valid")


# --- run_strips -------------------------------------------------------------------------


@pytest.mark.parametrize("n_rows, rows", [(1, 1), (7, 3), (10, 5), (11, 4), (64, 7), (5, 100)])
@pytest.mark.parametrize("threads", ["1", "2", "3", "8"])
def test_run_strips_covers_rows_once(
    monkeypatch: pytest.MonkeyPatch, n_rows: int, rows: int, threads: str
) -> None:
    monkeypatch.setattr(_strips, "THREAD_MIN_PIXELS", 1)
    monkeypatch.setattr(_strips, "_thread_limit", int(threads))
    seen: list[tuple[int, int]] = []
    owners: dict[tuple[int, int], int] = {}
    lock = threading.Lock()
    made: list[int] = []

    def scratch() -> list[np.ndarray]:
        made.append(1)
        return [np.empty(1)]

    def work(r0: int, r1: int, buffers: list[np.ndarray]) -> None:
        assert len(buffers) == 1
        with lock:
            seen.append((r0, r1))
            owners[(r0, r1)] = id(buffers[0])

    _engine.run_strips(n_rows, rows, work, pixels=10**9, scratch=scratch)
    covered = sorted(seen)
    assert covered[0][0] == 0 and covered[-1][1] == n_rows
    assert all(a[1] == b[0] for a, b in zip(covered, covered[1:], strict=False))
    assert all(0 < r1 - r0 <= rows for r0, r1 in covered)
    # one scratch per thread, never more threads than strips
    assert len(made) <= min(int(threads), -(-n_rows // rows))


def test_run_strips_reraises_a_worker_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_strips, "THREAD_MIN_PIXELS", 1)
    monkeypatch.setattr(_strips, "_thread_limit", 2)

    def work(r0: int, r1: int, buffers: list[np.ndarray]) -> None:
        if r0 > 0:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        _engine.run_strips(10, 2, work, pixels=10**9)


def test_small_images_stay_on_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_strips, "_thread_limit", 4)
    names: set[str] = set()

    def work(r0: int, r1: int, buffers: list[np.ndarray]) -> None:
        names.add(threading.current_thread().name)

    _engine.run_strips(100, 1, work, pixels=_strips.THREAD_MIN_PIXELS - 1)
    assert names == {threading.current_thread().name}


def _child_edges(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    x = np.arange(40.0 * 50).reshape(40, 50) % 7
    queue.put(float(_engine.gradient_magnitude(x, SMOOTH["sobel"], True).sum()))


def test_thread_pool_survives_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    _set_config(monkeypatch, "threads-2")
    x = np.arange(40.0 * 50).reshape(40, 50) % 7
    expected = float(_engine.gradient_magnitude(x, SMOOTH["sobel"], True).sum())  # makes the pool
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_edges, args=(queue,))
    child.start()
    child.join(60)
    if child.is_alive():  # pragma: no cover - the failure this test guards against
        child.kill()
        pytest.fail("a forked child hung on the parent's thread pool")
    assert child.exitcode == 0
    assert queue.get(timeout=5) == pytest.approx(expected)


# --- direct, separable and FFT correlation ------------------------------------------------


@given(data=image_and_kernel(), cfg=CONFIG)
@pytest.mark.parametrize("method", ["direct", "fft"])
def test_correlation_matches_scipy(method: str, data, cfg: str) -> None:
    x, k = data
    fn = _engine.direct if method == "direct" else _engine.fft_valid
    with engine_config(cfg):
        y = fn(x, k)
    _close(y, _oracle(x, k), _scale(x, k), 1e-12 if method == "direct" else 1e-11)


@given(data=image_and_kernel(dtype=np.float32), cfg=CONFIG)
@pytest.mark.parametrize("method", ["direct", "fft"])
def test_float32_correlation_within_float32_rounding(method: str, data, cfg: str) -> None:
    x, k = data
    fn = _engine.direct if method == "direct" else _engine.fft_valid
    with engine_config(cfg):
        y = fn(x, k)
    assert y.dtype == np.float32
    # the float32 rounding bound of a sequential sum of k.size products; the FFT path runs in
    # float64 but for its inverse row transforms (complex64): ~eps32 log2(N) of the scale
    bound = (2 * k.size + 4) * 2.0**-24
    if method == "fft":
        bound = max(bound, 2e-6)
    _close(y.astype(np.float64), _oracle(x, k), _scale(x, k), bound)


@st.composite
def rank1(draw: st.DrawFn, dtype: type = np.float64):
    h = draw(st.integers(1, 30))
    w = draw(st.integers(1, 30))
    kh = draw(st.integers(1, h))
    kw = draw(st.integers(1, w))
    x = draw(arrays(dtype, (h, w), elements=VALUES.map(dtype)))
    small = st.integers(-4, 4).map(float)  # exact products, like the named kernels
    u = np.array(draw(st.lists(small, min_size=kh, max_size=kh)))
    v = np.array(draw(st.lists(small, min_size=kw, max_size=kw)))
    return x, np.outer(u, v).astype(dtype)


@given(data=rank1(), cfg=CONFIG)
def test_separable_matches_scipy(data, cfg: str) -> None:
    x, k = data
    factors = _engine.rank1_factors(k)
    if not k.any():
        assert factors is None
        return
    assert factors is not None
    u, v = factors
    np.testing.assert_array_equal(np.outer(u, v), k)  # exact: rebalanced by powers of two
    with engine_config(cfg):
        y = _engine.separable(x, u, v)
    _close(y, _oracle(x, k), _scale(x, k), 1e-12)


@given(data=rank1(dtype=np.float32), cfg=CONFIG)
def test_float32_separable_within_float32_rounding(data, cfg: str) -> None:
    x, k = data
    factors = _engine.rank1_factors(k)
    if factors is None:
        return
    with engine_config(cfg):
        y = _engine.separable(x, factors[0].astype(np.float32), factors[1].astype(np.float32))
    assert y.dtype == np.float32
    bound = (2 * sum(k.shape) + 4) * 2.0**-24  # two passes of float32 sums
    _close(y.astype(np.float64), _oracle(x, k), _scale(x, k), bound)


def test_rank1_factors_make_sobel_weights_unit() -> None:
    u, v = _engine.rank1_factors(SOBEL_X)  # type: ignore[misc]
    assert list(u) == [-1.0, 0.0, 1.0] and list(v) == [1.0, 2.0, 1.0]
    u, v = _engine.rank1_factors(SOBEL_Y)  # type: ignore[misc]
    np.testing.assert_array_equal(np.outer(u, v), SOBEL_Y)


def test_rank1_factors_reject_full_rank_and_zero() -> None:
    assert _engine.rank1_factors(np.eye(3)) is None
    assert _engine.rank1_factors(np.zeros((2, 2))) is None


@pytest.mark.parametrize(
    "shape, kshape", [((37, 53), (5, 7)), ((64, 48), (31, 31)), ((9, 300), (9, 1))]
)
def test_every_path_on_larger_images(config: str, shape, kshape) -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape)
    k = rng.standard_normal(kshape)
    ref = _oracle(x, k)
    _close(_engine.direct(x, k), ref, _scale(x, k), 1e-12)
    _close(_engine.fft_valid(x, k), ref, _scale(x, k), 1e-11)
    u, v = rng.standard_normal(kshape[0]), rng.standard_normal(kshape[1])
    _close(_engine.separable(x, u, v), _oracle(x, np.outer(u, v)), _scale(x, np.outer(u, v)), 1e-12)


def test_zero_kernels_give_zeros() -> None:
    x = np.arange(30.0).reshape(5, 6)
    assert not _engine.direct(x, np.zeros((2, 3))).any()
    assert not _engine.separable(x, np.zeros(2), np.ones(3)).any()


def test_fft_pads_to_fast_lengths_not_beyond(config: str) -> None:
    rng = np.random.default_rng(3)
    x, k = rng.standard_normal((97, 61)), rng.standard_normal((13, 29))  # 97 is prime
    assert _engine.fft_shape(x.shape) == (100, 64)
    _close(_engine.fft_valid(x, k), _oracle(x, k), _scale(x, k), 1e-11)


def test_direct_by_outputs_when_the_kernel_is_nearly_the_image(config: str) -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((80, 70))
    k = rng.standard_normal((77, 66))  # 4 x 5 outputs, 5082 taps: loops over outputs
    _close(_engine.direct(x, k), _oracle(x, k), _scale(x, k), 1e-12)
    y32 = _engine.direct(x.astype(np.float32), k.astype(np.float32))
    assert y32.dtype == np.float32
    _close(
        y32.astype(np.float64),
        _oracle(x.astype(np.float32), k.astype(np.float32)),
        _scale(x, k),
        1e-6,
    )


@given(st.integers(1, 5000))
def test_next_fast_len_is_the_smallest_5_smooth_length(n: int) -> None:
    m = _engine.next_fast_len(n)
    assert m >= n

    def smooth(v: int) -> bool:
        for p in (2, 3, 5):
            while v % p == 0:
                v //= p
        return v == 1

    assert smooth(m)
    assert not any(smooth(v) for v in range(n, m))


# --- the fused 3 x 3 derivative pair and the edge magnitude ------------------------------

SMOOTHERS = {
    **SMOOTH,
    "scaled-sobel": (2.0, 4.0, 2.0),
    "asymmetric": (1.0, 3.0, 2.0),
    "unit-middle": (2.0, 1.0, 2.0),
}


def _ndimage_pair(x: np.ndarray, s: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """gx, gy by scipy.ndimage.correlate, cropped to the valid part."""
    gxk = np.outer((-1.0, 0.0, 1.0), s)
    x64 = x.astype(np.float64)
    gx = ndimage.correlate(x64, gxk, mode="constant")[1:-1, 1:-1]
    gy = ndimage.correlate(x64, gxk.T, mode="constant")[1:-1, 1:-1]
    return gx, gy


@st.composite
def edge_image(draw: st.DrawFn, dtype: type = np.float64):
    h = draw(st.integers(3, 40))
    w = draw(st.integers(3, 40))
    return draw(arrays(dtype, (h, w), elements=VALUES.map(dtype)))


@given(x=edge_image(), name=st.sampled_from(sorted(SMOOTHERS)), cfg=CONFIG)
def test_gradient_pair_matches_ndimage(x: np.ndarray, name: str, cfg: str) -> None:
    s = SMOOTHERS[name]
    gx = np.full((x.shape[0] - 2, x.shape[1] - 2), np.nan)
    gy = gx.copy()

    def keep(sx: np.ndarray, sy: np.ndarray, r0: int, r1: int) -> None:
        assert sx.shape == sy.shape == (r1 - r0, gx.shape[1])
        gx[r0:r1] = sx
        gy[r0:r1] = sy

    with engine_config(cfg):
        _engine.gradient_pair(x, s, keep)
    ex, ey = _ndimage_pair(x, s)
    scale = max(1.0, 2 * sum(abs(t) for t in s) * float(np.abs(x).max()))
    _close(gx, ex, scale, 1e-13)
    _close(gy, ey, scale, 1e-13)


@given(x=edge_image(), normalize=st.booleans(), name=st.sampled_from(sorted(SMOOTHERS)), cfg=CONFIG)
def test_gradient_magnitude_matches_hypot(
    x: np.ndarray, normalize: bool, name: str, cfg: str
) -> None:
    s = SMOOTHERS[name]
    ex, ey = _ndimage_pair(x, s)
    expected = np.hypot(ex, ey)
    scale = max(1.0, 2 * sum(abs(t) for t in s) * float(np.abs(x).max()))
    with engine_config(cfg):
        got = _engine.gradient_magnitude(x, s, normalize)
    assert got.dtype == x.dtype
    if normalize:
        top = expected.max()
        if top > 1e-9 * scale:
            _close(got, expected / top, 1.0, 1e-9 * scale / top)
            assert got.max() == 1.0
        elif top == 0:
            assert not got.any()
    else:
        _close(got, expected, scale, 1e-13)


@given(x=edge_image(dtype=np.float32), name=st.sampled_from(sorted(SMOOTHERS)), cfg=CONFIG)
def test_float32_gradient_magnitude_within_float32_rounding(
    x: np.ndarray, name: str, cfg: str
) -> None:
    s = SMOOTHERS[name]
    ex, ey = _ndimage_pair(x, s)
    expected = np.hypot(ex, ey)
    scale = max(1.0, 2 * sum(abs(t) for t in s) * float(np.abs(x).max()))
    with engine_config(cfg):
        got = _engine.gradient_magnitude(x, s, False)
    assert got.dtype == np.float32
    _close(got.astype(np.float64), expected, scale, 4e-6)


def test_uint8_like_sobel_is_exact_in_float32(config: str) -> None:
    rng = np.random.default_rng(11)
    x = rng.integers(0, 256, (67, 45)).astype(np.float32)
    gx, gy = _ndimage_pair(x, SMOOTH["sobel"])
    got = _engine.gradient_magnitude(x, SMOOTH["sobel"], False)
    np.testing.assert_array_equal(got, np.sqrt(gx * gx + gy * gy).astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", ["huge", "tiny"])
def test_magnitude_of_extreme_values_matches_hypot(config: str, dtype: type, size: str) -> None:
    """Squares that overflow or lose bits fall back to np.hypot, strip by strip."""
    info = np.finfo(dtype)
    scale = float(info.max) / 16 if size == "huge" else float(info.tiny) * 64
    rng = np.random.default_rng(5)
    x = (rng.random((30, 40)) * scale).astype(dtype)
    if size == "huge":
        x[:10] = 0.5  # a strip of ordinary values too
    ex, ey = _ndimage_pair(x.astype(np.float64) / scale, SMOOTH["sobel"])
    expected = np.hypot(ex, ey)
    got = _engine.gradient_magnitude(x, SMOOTH["sobel"], True)
    assert np.isfinite(got).all()
    if size == "huge":  # the huge strips dominate: compare normalised maps
        np.testing.assert_allclose(got[12:], (expected / expected.max())[12:], atol=1e-5)
    else:
        assert got.max() == 1.0
        raw = _engine.gradient_magnitude(x, SMOOTH["sobel"], False)
        np.testing.assert_allclose(raw / scale, expected, rtol=1e-5, atol=1e-6)


def test_constant_image_normalises_to_zeros(config: str) -> None:
    out = _engine.gradient_magnitude(np.full((20, 30), 5.0), SMOOTH["sobel"], True)
    assert out.shape == (18, 28) and not out.any()


# --- choose_method --------------------------------------------------------------------------


@given(
    h=st.integers(1, 5000),
    w=st.integers(1, 5000),
    kh=st.integers(1, 64),
    kw=st.integers(1, 64),
    rank_one=st.booleans(),
    f32=st.booleans(),
)
def test_choose_method_gives_a_method_that_fits(h, w, kh, kw, rank_one, f32) -> None:
    kh, kw = min(kh, h), min(kw, w)
    rng = np.random.default_rng(kh * 100 + kw)
    k = np.outer(rng.random(kh) + 1, rng.random(kw) + 1) if rank_one else rng.random((kh, kw))
    k = k.astype(np.float32 if f32 else np.float64)
    method = conv.choose_method((h, w), k)
    assert method in ("direct", "separable", "fft")
    if method == "separable":
        assert _engine.rank1_factors(k) is not None


def test_choose_method_extremes() -> None:
    rng = np.random.default_rng(0)
    assert conv.choose_method((2048, 2048), rng.random((31, 31))) == "fft"
    assert conv.choose_method((64, 64), rng.random((1, 1))) == "direct"
    assert conv.choose_method((2048, 2048), np.outer(rng.random(7), rng.random(7))) == "separable"
    assert conv.choose_method((2048, 2048), SOBEL_X) in ("direct", "separable")
