"""Edge maps and the lab's convolutions on dask arrays, lazily, chunk by chunk: for notebooks.

Every function takes a 2-D :class:`dask.array.Array` and returns a lazy one equal to the
in-memory public API on the computed array::

    sobelcli.dask.edge_magnitude(a, ...).compute() == sobelcli.edge_magnitude(a.compute(), ...)

bit for bit (float64 in gives float64 out; float16 and float32 give float32, as in memory).

>>> import dask.array as da, numpy as np
>>> import sobelcli.dask
>>> step = da.from_array(np.repeat([[0.0, 0.0, 1.0, 1.0]], 4, axis=0), chunks=2)
>>> sobelcli.dask.edge_magnitude(step).compute()
array([[1., 1.],
       [1., 1.]])

How. A 3 x 3 operator needs a halo of 2 rows and 2 columns: output pixel ``(i, j)`` of the
valid map reads input rows ``i .. i + 2`` and columns ``j .. j + 2``. Each chunk is extended
with the 2 rows and columns that follow it (``dask.array.map_overlap`` with ``depth=(0, 2)``
and ``boundary="none"``) and handed to the in-memory engine, which computes the chunk's part
of the valid map; the chunks are laid out so that no output chunk is empty and every halo
comes from one neighbour, whatever the input's chunks (1-row chunks work). The engine does
the same arithmetic on each pixel whatever the slice of image around it, so chunk borders
leave no trace. A ``pad`` mode first extends the image by one pixel on each side with
:func:`dask.array.pad`, using numpy's name of scipy.ndimage's mode (dask's own ``boundary=``
names differ and miss ``mirror``):

============  ==============  =============================
``pad``       numpy.pad mode  border (image ``a b c d``)
============  ==============  =============================
reflect       symmetric       ``b a | a b c d | d c``
mirror        reflect         ``c b | a b c d | c b``
nearest       edge            ``a a | a b c d | d d``
constant      constant        ``0 0 | a b c d | 0 0``
wrap          wrap            ``c d | a b c d | a b``
============  ==============  =============================

Normalising divides by the map's global maximum, a dask reduction (``da.max``) over the
unnormalised map; :func:`block_maxima` (or :func:`edge_maximum`) and :func:`normalize_edges`
split the two steps, for a caller that prefers two passes over the data (the first for the
maximum, the second to write), so that no worker holds the whole map. :func:`correlate2d` and
:func:`grad_input` take any kernel the same way, with a halo of the kernel's size less one.

Errors that need the pixels (NaN or infinite values) are raised when the result is computed;
a wrong operator, pad mode, kind, shape or dtype is raised at once. One documented limit of
bit-for-bit equality: where the squared gradients of a strip of the image overflow or fall
below the normal range (|gradient| < 1e-146 in float64, < 3e-16 in float32, or > 1e154 /
1e19), the engine recomputes that strip with ``hypot``; strips and chunks need not coincide,
so such pixels may then differ in the last bit.

On a ``dask.distributed`` cluster (one huge TIFF or Zarr image to Zarr, or a batch of files,
one task each), see :mod:`sobelcli.dask.cluster`. ``import sobelcli`` imports none of this:
dask, distributed and zarr come with ``pip install 'sobelcli[dask]'``.

Modules: :mod:`.chunks` (checks, chunk layout, the overlap map), :mod:`.edges`,
:mod:`.correlate` (the notebook API); :mod:`.cluster`, the cluster API, gathers
:mod:`.client` (connecting), :mod:`.tasks` (futures, a batch), :mod:`.read` and :mod:`.write`
(a huge image in and out), :mod:`.options` and :mod:`.to_zarr` (edges and dL/dX to Zarr).
"""

from __future__ import annotations

from sobelcli.dask.chunks import KINDS, PAD_MODES, working_dtype
from sobelcli.dask.correlate import correlate2d, grad_input
from sobelcli.dask.edges import (
    block_maxima,
    edge_gradients,
    edge_magnitude,
    edge_map,
    edge_maximum,
    normalize_edges,
)

__all__ = [
    "KINDS",
    "PAD_MODES",
    "block_maxima",
    "correlate2d",
    "edge_gradients",
    "edge_magnitude",
    "edge_map",
    "edge_maximum",
    "grad_input",
    "normalize_edges",
    "working_dtype",
]
