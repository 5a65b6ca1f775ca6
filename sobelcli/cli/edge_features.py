"""The options of ``sobelcli edges`` beyond the lab's map, parsed into one :class:`Features`.

Canny, smoothing, larger kernels, colour, robust normalisation and frames; each is refused
(exit 2, one sentence) where it would do nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from sobelcli.cli.params import FiniteFloatRange, compose, given
from sobelcli.names import COLOR_MODES, SOBEL_KSIZES

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Canny:
    """Canny's settings: smoothing, and hysteresis between ``low`` and ``high``."""

    sigma: float = 1.0
    low: float = 0.1
    high: float = 0.2
    quantiles: bool = False


@dataclass(frozen=True)
class Features:
    """What ``edges`` adds to the lab's map; the defaults leave the map as the lab draws it."""

    sigma: float | None = None
    ksize: int = 3
    percentile: float | None = None
    colour: str = "luminance"
    canny: Canny | None = None
    frame: int | None = None

    @property
    def whole_image(self) -> bool:
        """True when the map needs the whole image in memory (it cannot go strip by strip)."""
        return self != Features(frame=self.frame)

    def describe(self) -> str:
        """The options in force, as typed: ``--canny``, ``--sigma 2 --ksize 5`` ..."""
        if self.canny is not None:
            return "--canny"
        parts = [
            f"--sigma {self.sigma:g}" if self.sigma is not None else "",
            f"--ksize {self.ksize}" if self.ksize != 3 else "",
            f"--percentile {self.percentile:g}" if self.percentile is not None else "",
            f"--color {self.colour}" if self.colour != "luminance" else "",
            f"--frame {self.frame}" if self.frame is not None else "",
        ]
        return " ".join(p for p in parts if p)

    def apply(self, pixels: Any, kind: str, operator: str, normalize: bool, pad: str | None) -> Any:
        """The map of ``pixels``: (H, W) grey, or (H, W, 3) colour for the colour modes."""
        if self.canny is not None:
            from sobelcli.core.canny import canny

            c = self.canny
            edges = canny(pixels, c.sigma, c.low, c.high, c.quantiles, pad)
            return edges.astype(pixels.dtype)
        if self.colour != "luminance":
            from sobelcli.core.colour import colour_edges

            return colour_edges(
                pixels,
                self.colour,  # type: ignore[arg-type]
                operator,
                normalize,
                pad,
                kind=kind,  # type: ignore[arg-type]
                ksize=self.ksize,
                sigma=self.sigma,
                percentile=self.percentile,
            )
        from sobelcli.core.edges import edge_map

        return edge_map(
            pixels,
            kind,  # type: ignore[arg-type]
            operator,
            normalize,
            pad,
            ksize=self.ksize,
            sigma=self.sigma,
            percentile=self.percentile,
        )


_feature_flags = compose(
    click.option(
        "--canny",
        is_flag=True,
        help="Write Canny's thin binary edges instead: Gaussian smoothing (--sigma, default 1), "
        "Sobel gradients, non-maximum suppression along the gradient (interpolated, as "
        "scikit-image does), hysteresis between --low and --high. Keeps the input's size "
        "and needs the whole image in memory.",
    ),
    click.option(
        "--low",
        type=FiniteFloatRange(0.0, 1.0),
        default=None,
        metavar="T",
        help="Canny: weak edges, as a fraction of the largest gradient magnitude (a quantile "
        "with --quantiles).  [default: 0.1]",
    ),
    click.option(
        "--high",
        type=FiniteFloatRange(0.0, 1.0),
        default=None,
        metavar="T",
        help="Canny: strong edges, likewise.  [default: 0.2]",
    ),
    click.option(
        "--quantiles",
        is_flag=True,
        help="Canny: --low and --high are quantiles of the magnitude (scikit-image's "
        "use_quantiles), e.g. --low 0.8 --high 0.9.",
    ),
    click.option(
        "--sigma",
        type=FiniteFloatRange(0.0, 100.0),
        default=None,
        metavar="S",
        help="Smooth with a Gaussian of S pixels before the derivative: "
        "scipy.ndimage.gaussian_filter(I, S, truncate=4.0, mode=M) with M the --pad mode; "
        "without --pad the smoothing reflects at the borders and the map stays valid-size.",
    ),
    click.option(
        "--ksize",
        type=click.Choice([str(k) for k in SOBEL_KSIZES]),
        default="3",
        show_default=True,
        help="Size of the Sobel pair, built from its 1-D binomial smoothing and difference "
        "factors; equal to OpenCV's Sobel(ksize=...) (the lab's x is OpenCV's dy). 5 and 7 "
        "with --operator sobel.",
    ),
    click.option(
        "--color",
        "colour",
        type=click.Choice(COLOR_MODES),
        default="luminance",
        show_default=True,
        help="Colour images: luminance (grey first), max (the strongest channel's magnitude "
        "at each pixel), or per-channel (an RGB map of the three channels' magnitudes, "
        "normalised together by their largest value).",
    ),
    click.option(
        "--percentile",
        type=click.FloatRange(0.0, 100.0, min_open=True),
        default=None,
        metavar="P",
        help="Divide by the P-th percentile of the magnitude and clip to 1, instead of by "
        "the maximum, so that one bright pixel does not darken the whole map (0 < P <= 100).",
    ),
    click.option(
        "--frame",
        type=click.IntRange(min=0),
        default=None,
        metavar="N",
        help="Use page N of a multi-page TIFF or frame N of a GIF (0 = the first).",
    ),
)


def feature_options(func: F) -> F:
    """The options above, handed to the command as one ``features`` (Features)."""

    @functools.wraps(func)
    def packed(*args: Any, **kwargs: Any) -> Any:
        canny = kwargs.pop("canny")
        low, high, quantiles = kwargs.pop("low"), kwargs.pop("high"), kwargs.pop("quantiles")
        sigma = kwargs.pop("sigma")
        settings = None
        if canny:
            low = 0.1 if low is None else low
            high = 0.2 if high is None else high
            if low > high:
                raise click.UsageError(f"--low {low} is above --high {high}")
            settings = Canny(1.0 if sigma is None else sigma, low, high, quantiles)
        kwargs["features"] = Features(
            sigma=None if canny else sigma,
            ksize=int(kwargs.pop("ksize")),
            percentile=kwargs.pop("percentile"),
            colour=kwargs.pop("colour"),
            canny=settings,
            frame=kwargs.pop("frame"),
        )
        return func(*args, **kwargs)

    return _feature_flags(packed)  # type: ignore[return-value]


def check_features(
    ctx: click.Context, features: Features, kind: str, operator: str, normalize: bool
) -> None:
    """Refuse, with exit 2 and a sentence, the combinations that mean nothing."""
    if features.canny is None:
        for name in ("low", "high", "quantiles"):
            if given(ctx, name):
                raise click.UsageError(f"--{name} sets Canny's thresholds; add --canny or drop it")
    else:
        for name, clash in (
            ("kind", f"--output-kind {kind}"),
            ("threshold", "--threshold"),
            ("percentile", "--percentile"),
            ("normalize", "--no-normalize"),
            ("ksize", f"--ksize {features.ksize}"),
            ("colour", f"--color {features.colour}"),
        ):
            if given(ctx, name) and (name != "ksize" or features.ksize != 3):
                raise click.UsageError(
                    f"--canny writes a binary edge map; {clash} means nothing with it"
                )
        if operator != "sobel":
            raise click.UsageError("--canny uses the Sobel pair; drop --operator")
    if features.ksize != 3 and operator != "sobel":
        raise click.UsageError(
            f"--ksize {features.ksize} builds the Sobel pair; drop --operator {operator}"
        )
    if features.colour != "luminance" and given(ctx, "channel"):
        raise click.UsageError(
            f"--channel takes one channel; --color {features.colour} uses all three"
        )
    if features.percentile is not None and not normalize:
        raise click.UsageError("--percentile is a normalisation; drop --no-normalize")
    if features.percentile is not None and kind == "angle":
        raise click.UsageError("--percentile means nothing for --output-kind angle; drop one")
