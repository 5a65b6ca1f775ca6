"""sobelcli on a dask.distributed cluster: one huge image chunk by chunk, or a batch of files.

The client only builds task graphs and follows them; the workers read, compute and write.

- :func:`connect` opens a :class:`distributed.Client` to a scheduler address, or to a
  ``LocalCluster`` of worker processes on 127.0.0.1 for ``"local"``, and always closes what it
  opened. An unreachable scheduler raises :class:`ClusterError` (a ``ConnectionError``) with a
  one-line message naming the address. (The CLI also takes the address from the
  ``SOBELCLI_SCHEDULER`` environment variable; here the address is always an argument.)
- :func:`edges_to_zarr`: a TIFF (tiled or striped, BigTIFF, any compression tifffile reads, via
  ``tifffile``'s Zarr view) or a Zarr array in, its edge map out as a Zarr array, computed by
  :mod:`sobelcli.dask` with ``map_overlap``. A normalised map takes two passes over the image,
  as libvips does (the maximum first, then the write), so that no worker holds the whole map.
  :func:`grad_input_to_zarr` does the same for dL/dX of ``L = loss(K * X)``. The output is
  written into a temporary folder beside the target and renamed into place: nothing partial is
  left on failure. :func:`open_image` and :func:`write_zarr` are the two halves, for other
  pipelines.
- :func:`run_batch`: one task per file, given a picklable top-level ``work(task)`` function;
  results come back as they complete.

Workers must see the same files at the same paths (one machine, or a shared file system) and
have sobelcli installed. A worker that dies (killed, out of memory) turns into a
:class:`ClusterError` naming the file or chunk it was working on (or, for a batch given
``died=``, into that file's result).

>>> from sobelcli.dask import cluster
>>> with cluster.connect("local") as client:  # doctest: +SKIP
...     cluster.edges_to_zarr(client, "scan.tif", "edges.zarr", cluster.EdgeOptions(pad="reflect"))
"""

from __future__ import annotations

from sobelcli.dask.client import ClusterError, ClusterOptions, EngineThreads, connect
from sobelcli.dask.read import LUMINANCE, open_image
from sobelcli.dask.tasks import Progress, Work, run_batch
from sobelcli.dask.to_zarr import (
    EdgeOptions,
    GradOptions,
    GradSummary,
    ImageSummary,
    edges_to_zarr,
    grad_input_to_zarr,
)
from sobelcli.dask.write import write_zarr

__all__ = [
    "LUMINANCE",
    "ClusterError",
    "ClusterOptions",
    "EdgeOptions",
    "EngineThreads",
    "GradOptions",
    "GradSummary",
    "ImageSummary",
    "Progress",
    "Work",
    "connect",
    "edges_to_zarr",
    "grad_input_to_zarr",
    "open_image",
    "run_batch",
    "write_zarr",
]
