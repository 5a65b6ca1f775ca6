"""sobelcli.engine.stream: strips equal the whole image, at every border and strip height."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal
from hypothesis import given
from hypothesis import strategies as st

import sobelcli
from sobelcli.engine.stream import (
    KINDS,
    OPERATORS,
    EdgeOptions,
    edge_maximum,
    edge_output_shape,
    edge_strips,
    full_convolution_strips,
    stream_edge_map,
    stream_full_convolution,
)
from sobelcli.engine.stream_strips import NUMPY_PAD, Window, border_index, padded_strips

PADS = [None, *NUMPY_PAD]


class Rows:
    """A grey image as a row source that counts the rows it hands out."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = image
        self.shape = image.shape
        self.dtype = image.dtype
        self.rows_read = 0

    def read_rows(self, r0: int, r1: int) -> np.ndarray:
        assert 0 <= r0 < r1 <= self.shape[0]
        self.rows_read += r1 - r0
        return self.image[r0:r1].copy()


class ListSink:
    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []

    def write_rows(self, rows: np.ndarray) -> None:
        self.parts.append(rows.copy())

    def array(self) -> np.ndarray:
        return np.concatenate(self.parts)


def streamed(image: np.ndarray, options: EdgeOptions, strip_rows: int) -> np.ndarray:
    strips = edge_strips(Rows(image), options, edge_map=sobelcli.edge_map, strip_rows=strip_rows)
    return np.concatenate([values for _, values in strips])


def grey(rng: np.random.Generator, shape: tuple[int, int], dtype: type = np.float64) -> np.ndarray:
    return (rng.integers(0, 256, shape) / 255.0).astype(dtype)


@pytest.mark.parametrize("mode", list(NUMPY_PAD))
def test_border_index_is_numpy_pad_for_any_width(mode: str) -> None:
    for n, width in itertools.product(range(1, 7), (1, 2, 5, 13)):
        extra = {"constant_values": -1} if mode == "constant" else {}
        expected = np.pad(np.arange(n), width, NUMPY_PAD[mode], **extra)
        got = border_index(np.arange(-width, n + width), n, mode)
        np.testing.assert_array_equal(got, expected, err_msg=f"{mode} n={n} width={width}")


@pytest.mark.parametrize("pad", PADS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_operator_pad_and_strip_height_equals_edge_map_bit_for_bit(
    rng: np.random.Generator, kind: str, pad: str | None
) -> None:
    for dtype, operator, normalize in itertools.product(
        (np.float64, np.float32), OPERATORS, (True, False)
    ):
        image = grey(rng, (11, 9), dtype)
        expected = sobelcli.edge_map(image, kind, operator, normalize, pad)
        for strip_rows in (1, 2, 3, 5, 100):
            got = streamed(image, EdgeOptions(kind, operator, normalize, pad), strip_rows)
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected, err_msg=f"{operator} {strip_rows}")


@given(
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    strip_rows=st.integers(1, 7),
    kind=st.sampled_from(KINDS),
    operator=st.sampled_from(OPERATORS),
    normalize=st.booleans(),
    pad=st.sampled_from(PADS),
    seed=st.integers(0, 2**32 - 1),
    bits=st.sampled_from([1, 8, 16]),
)
def test_any_image_streams_like_the_whole(
    h, w, strip_rows, kind, operator, normalize, pad, seed, bits
) -> None:
    top = 2**bits - 1
    image = np.random.default_rng(seed).integers(0, top + 1, (h, w)) / top
    options = EdgeOptions(kind, operator, normalize, pad)
    try:
        expected = sobelcli.edge_map(image, kind, operator, normalize, pad)
    except ValueError:
        with pytest.raises(ValueError):
            streamed(image, options, strip_rows)
        return
    np.testing.assert_array_equal(streamed(image, options, strip_rows), expected)


@pytest.mark.parametrize("pad", list(NUMPY_PAD))
def test_derivatives_and_magnitude_match_scipy_ndimage(rng: np.random.Generator, pad: str) -> None:
    image = grey(rng, (13, 10))
    gx = ndi.correlate(image, sobelcli.SOBEL_X, mode=pad)
    gy = ndi.correlate(image, sobelcli.SOBEL_Y, mode=pad)
    np.testing.assert_allclose(
        streamed(image, EdgeOptions("x", normalize=False, pad=pad), 2), gx, atol=1e-12
    )
    np.testing.assert_allclose(
        streamed(image, EdgeOptions("y", normalize=False, pad=pad), 3), gy, atol=1e-12
    )
    magnitude = np.hypot(gx, gy)
    np.testing.assert_allclose(
        streamed(image, EdgeOptions(pad=pad), 1), magnitude / magnitude.max(), atol=1e-12
    )


def test_valid_map_matches_scipy_signal(rng: np.random.Generator) -> None:
    image = grey(rng, (9, 14))
    gx = scipy.signal.correlate2d(image, sobelcli.SCHARR_X, mode="valid")
    got = streamed(image, EdgeOptions("x", "scharr", normalize=False), 4)
    assert got.shape == edge_output_shape(image.shape, None) == (7, 12)
    np.testing.assert_allclose(got, gx, atol=1e-12)


def test_flat_images_give_zeros_and_one_half(rng: np.random.Generator) -> None:
    flat = np.full((6, 7), 0.25)
    np.testing.assert_array_equal(streamed(flat, EdgeOptions(), 2), np.zeros((4, 5)))
    for kind in ("x", "y"):
        np.testing.assert_array_equal(
            streamed(flat, EdgeOptions(kind, pad="wrap"), 2), np.full((6, 7), 0.5)
        )


def test_each_row_is_read_once_per_pass_plus_the_border_rows(rng: np.random.Generator) -> None:
    image = grey(rng, (40, 6))
    source = Rows(image)
    sink = ListSink()
    result = stream_edge_map(
        source, sink, EdgeOptions(pad="wrap"), edge_map=sobelcli.edge_map, strip_rows=3
    )
    assert source.rows_read == 2 * 40 + 2  # two passes, and rows 0 and 39 once for the wrap
    assert result.passes == 2 and result.strips == 14 and result.shape == (40, 6)
    np.testing.assert_array_equal(sink.array(), sobelcli.edge_map(image, pad="wrap"))
    assert result.maximum == pytest.approx(
        sobelcli.edge_map(image, pad="wrap", normalize=False).max(), rel=0, abs=0
    )


def test_progress_counts_both_passes_to_the_end(rng: np.random.Generator) -> None:
    seen: list[tuple[int, int]] = []
    image = grey(rng, (20, 5))
    stream_edge_map(
        Rows(image),
        ListSink(),
        EdgeOptions(),
        edge_map=sobelcli.edge_map,
        strip_rows=4,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert {total for _, total in seen} == {36}
    dones = [done for done, _ in seen]
    assert dones == sorted(dones) and dones[-1] == 36
    seen.clear()
    stream_edge_map(
        Rows(image),
        ListSink(),
        EdgeOptions("angle"),
        edge_map=sobelcli.edge_map,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(18, 18)]


def test_a_known_maximum_skips_the_first_pass(rng: np.random.Generator) -> None:
    image = grey(rng, (15, 8))
    options = EdgeOptions("y", "prewitt", pad="reflect")
    top = edge_maximum(Rows(image), options, edge_map=sobelcli.edge_map, strip_rows=2)
    source = Rows(image)
    strips = edge_strips(source, options, edge_map=sobelcli.edge_map, maximum=top, strip_rows=4)
    got = np.concatenate([v for _, v in strips])
    np.testing.assert_array_equal(got, sobelcli.edge_map(image, "y", "prewitt", pad="reflect"))
    assert source.rows_read <= 15 + 2


@pytest.mark.parametrize("kind", ["magnitude", "x"])
@pytest.mark.parametrize("row", [1, 8, 13])  # in the first, a middle and the last strip
def test_a_nan_anywhere_is_the_maximum_as_in_np_max(
    rng: np.random.Generator, kind: str, row: int
) -> None:
    """Rows near the float64 limit overflow to inf - inf = NaN in some strips, not the others."""
    image = grey(rng, (15, 8))
    image[row - 1 : row + 2] = 1e308
    options = EdgeOptions(kind)  # type: ignore[arg-type]
    with np.errstate(over="ignore", invalid="ignore"):
        whole = sobelcli.edge_map(image, kind, normalize=False)
        assert np.isnan(np.max(whole))  # the in-memory map divides by NaN
        top = edge_maximum(Rows(image), options, edge_map=sobelcli.edge_map, strip_rows=3)
    assert np.isnan(top)


def test_bad_options_and_small_images_raise_value_error() -> None:
    with pytest.raises(ValueError, match="unknown output kind"):
        EdgeOptions("phase")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown operator"):
        EdgeOptions(operator="roberts")
    with pytest.raises(ValueError, match="unknown pad mode"):
        EdgeOptions(pad="symmetric")
    with pytest.raises(ValueError, match="smaller than the 3 x 3 kernel"):
        streamed(np.zeros((2, 9)), EdgeOptions(), 1)
    with pytest.raises(ValueError, match="strip_rows"):
        streamed(np.zeros((5, 5)), EdgeOptions(), 0)
    with pytest.raises(ValueError, match="needs no maximum"):
        edge_maximum(Rows(np.zeros((5, 5))), EdgeOptions("angle"), edge_map=sobelcli.edge_map)


def test_padded_strips_overlap_by_the_kernel_height_less_one(rng: np.random.Generator) -> None:
    image = grey(rng, (10, 4))
    window = Window.full(4, 2)
    blocks = list(padded_strips(Rows(image), window, "constant", strip_rows=3))
    extended = np.pad(image, ((3, 3), (1, 1)))
    assert [o0 for o0, _ in blocks] == [0, 3, 6, 9, 12]
    for o0, block in blocks:
        assert not block.flags.writeable
        np.testing.assert_array_equal(block, extended[o0 : o0 + block.shape[0]])
        assert block.shape[0] == min(3, 13 - o0) + 3


@pytest.mark.parametrize("shape", [(3, 3), (5, 2), (1, 1), (4, 7), (2, 9)])
def test_full_convolution_equals_grad_input(rng: np.random.Generator, shape) -> None:
    dy = rng.normal(size=(9, 11))
    kernel = rng.normal(size=shape)
    rank1 = np.outer(rng.normal(size=shape[0]), rng.normal(size=shape[1]))
    for method, k in (("direct", kernel), ("separable", rank1), ("fft", kernel)):
        expected = sobelcli.grad_input(dy, k, method=method)
        np.testing.assert_allclose(expected, scipy.signal.convolve2d(dy, k, "full"), atol=1e-12)
        for strip_rows in (1, 2, 4, 50):
            strips = full_convolution_strips(
                Rows(dy), k, correlate=sobelcli.correlate2d, method=method, strip_rows=strip_rows
            )
            got = np.concatenate([v for _, v in strips])
            if method == "fft":
                np.testing.assert_allclose(got, expected, rtol=0, atol=1e-13)
            else:
                np.testing.assert_array_equal(got, expected, err_msg=f"{method} {strip_rows}")


def test_full_convolution_in_float32_and_to_a_sink(rng: np.random.Generator) -> None:
    dy = rng.normal(size=(12, 5)).astype(np.float32)
    sink = ListSink()
    result = stream_full_convolution(
        Rows(dy), sink, sobelcli.SOBEL_X, correlate=sobelcli.correlate2d, strip_rows=2
    )
    assert result.shape == (14, 7) and result.passes == 1
    expected = sobelcli.grad_input(dy, sobelcli.SOBEL_X, method="direct")
    assert sink.array().dtype == np.float32
    np.testing.assert_array_equal(sink.array(), expected)
    with pytest.raises(ValueError, match="kernel"):
        list(full_convolution_strips(Rows(dy), [[np.nan]], correlate=sobelcli.correlate2d))


@pytest.mark.parametrize("fail_at", [None, 0, 3])
def test_strips_kept_on_disk_write_the_same_map_and_a_failing_store_recomputes(
    rng: np.random.Generator, tmp_path, fail_at: int | None
) -> None:
    """The second pass reads the first pass's strips back (nothing read from the source) or,
    when the store gives up part of the way, computes them again: the same map either way."""
    from sobelcli.io.spill import StripFile

    for kind, pad in (("magnitude", None), ("x", "reflect"), ("y", "wrap")):
        image = grey(rng, (37, 23), np.float32)
        options = EdgeOptions(kind, "sobel", True, pad)  # type: ignore[arg-type]
        source, sink = Rows(image), ListSink()
        with StripFile(str(tmp_path), image.nbytes) as keep:
            assert keep.ready
            if fail_at is not None:
                real_put, calls = keep.put, [0]

                def put(values, real_put=real_put, calls=calls):
                    calls[0] += 1
                    return real_put(values) if calls[0] <= fail_at else (keep.close() or False)

                keep.put = put  # type: ignore[method-assign]
            stream_edge_map(
                source, sink, options, edge_map=sobelcli.edge_map, strip_rows=4, keep=keep
            )
        np.testing.assert_array_equal(sink.array(), sobelcli.edge_map(image, kind, pad=pad))
        read_twice = source.rows_read >= 2 * image.shape[0]
        assert read_twice == (fail_at is not None)  # kept: the source is read once
    assert list(tmp_path.iterdir()) == []  # the kept strips had no name
