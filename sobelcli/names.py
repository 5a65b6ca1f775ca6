"""Every name sobelcli offers, in one place, without numpy: the command line lists these.

The core builds its tables from these tuples (``core.kernels.KERNELS`` has one entry per
:data:`KERNEL_NAMES` name, ``core.losses.LOSSES`` one per :data:`LOSS_NAMES` name), so a name
is added here and nowhere else; ``--help`` reads them without importing numpy.
"""

from __future__ import annotations

#: 3 x 3 derivative operators, by their smoothing factor: sobel (1, 2, 1), scharr (3, 10, 3),
#: prewitt (1, 1, 1).
OPERATORS: tuple[str, ...] = ("sobel", "scharr", "prewitt")

#: Sizes of the Sobel pair (``core.kernels.sobel_pair``): 3 is the lab's; 5 and 7 as OpenCV's
#: ``Sobel(ksize=...)``. Scharr and Prewitt exist in size 3 only.
SOBEL_KSIZES: tuple[int, ...] = (3, 5, 7)

#: How a colour image becomes an edge map (``core.colour.colour_edges``): the luminance's
#: edges, the largest of the three channels' at each pixel, or the three side by side.
COLOR_MODES: tuple[str, ...] = ("luminance", "max", "per-channel")

#: Border modes, as scipy.ndimage names them.
PAD_MODES: tuple[str, ...] = ("reflect", "mirror", "nearest", "constant", "wrap")

#: What an edge map shows.
OUTPUT_KINDS: tuple[str, ...] = ("magnitude", "x", "y", "angle")

#: Losses L(Y) of the gradient commands.
LOSS_NAMES: tuple[str, ...] = ("sumsq", "logcosh", "softplus", "sum")

#: Named kernels for ``-k``.
KERNEL_NAMES: tuple[str, ...] = (
    "sobel-x",
    "sobel-y",
    "scharr-x",
    "scharr-y",
    "prewitt-x",
    "prewitt-y",
    "laplace",
    "box3",
    "identity",
)

#: Output formats by file extension (``-``, stdout, is PNG).
OUTPUT_SUFFIXES: dict[str, str] = {
    ".png": "png",
    ".npy": "npy",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".zarr": "zarr",  # a folder; written only by the streaming sink (``cli/streaming.py``)
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".webp": "webp",
}

#: The extension each format gets when sobelcli names the file.
FORMAT_SUFFIX: dict[str, str] = {
    "png": ".png",
    "npy": ".npy",
    "tiff": ".tif",
    "zarr": ".zarr",
    "jpeg": ".jpg",
    "webp": ".webp",
}

#: Formats whose files lose detail, and take a quality (1-100).
LOSSY_FORMATS: tuple[str, ...] = ("jpeg", "webp")

#: Output formats, for ``--format``.
FORMATS: tuple[str, ...] = tuple(FORMAT_SUFFIX)

#: Files a folder argument contributes (a file named on the command line is read whatever
#: its name).
IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".npy"}
)

#: Refuse images with more pixels than this unless told otherwise (a decompression-bomb guard).
DEFAULT_MAX_PIXELS = 250_000_000

#: ``edges`` and ``grad-input`` stream a TIFF, .npy, PNG or JPEG file of at least this many
#: pixels to a file, in strips (Zarr always): every size. Decoding, computing and encoding then
#: overlap on threads, and peak memory stays flat (README.md, "Speed"; BENCHMARKS.md).
STREAM_MIN_PIXELS = 0
#: Where the cores are not free for the stream's threads, streaming starts at 2^24 pixels:
#: in the workers of a parallel batch (the in-memory path decodes and computes once, more
#: images a second when every core has a worker), and for ``grad-input`` (each of its passes
#: computes two correlations: below this a second pass costs more than the memory it saves).
SHARED_STREAM_MIN_PIXELS = 1 << 24
#: A "big" image: 2^24, 16.8 MP, 4096 x 4096. A file this big streams even above
#: ``--max-pixels`` (limited by disk, not memory); a smaller one over the limit is refused as
#: an image read whole would be. Features that need the whole image note that they do not
#: stream from this size.
BIG_IMAGE_PIXELS = 1 << 24

#: The most memory reading one image may take (decoding, the grey copy, the command's working
#: arrays), in bytes, unless told otherwise: 2 GiB. The command line's ``--max-memory`` takes
#: this or, if less, :data:`MEMORY_SHARE` of the machine's physical memory.
DEFAULT_MAX_MEMORY = 2 << 30

#: The share of the physical memory that ``--max-memory`` takes by default on a smaller machine.
MEMORY_SHARE = 0.5

#: Luminance weights of R, G and B (scikit-image's ``rgb2gray``, ITU-R 709).
LUMINANCE: tuple[float, float, float] = (0.2125, 0.7154, 0.0721)

#: What transparent pixels are composited over, or "ignore" to drop alpha.
ALPHA_MODES: tuple[str, ...] = ("white", "black", "ignore")
