"""The mistakes ``sobelcli verify`` knows, and how it names them: a sentence and a title.

Each mistake has a key (``"flipped"``, ``"same-size"``, ...); :data:`MISTAKES` orders them by
preference when one output matches several. The sentences teach: they say what the output is
and what the lab's formula wants instead, in the lab's 1-based notation.
"""

from __future__ import annotations

from .cases import Role

__all__ = ["MISTAKES", "sentence", "title"]

#: Every mistake :mod:`sobelcli.verify.diagnose` can name, preferred first when several match.
MISTAKES: tuple[str, ...] = (
    "flipped",
    "flipped-rows",
    "flipped-cols",
    "reversed",
    "transposed-kernel",
    "transposed-image",
    "transposed-output",
    "dy-unused",
    "borders-missing",
    "same-size",
    "full-size",
    "valid-size",
    "dy-size",
    "off-by-one",
    "shifted",
    "not-normalized",
    "no-sqrt",
    "abs-sum",
    "only-gx",
    "only-gy",
    "sign",
    "factor-2",
    "half",
    "scaled",
    "truncated",
    "not-2d",
    "wrong-shape",
    "nan",
    "not-array",
    "raised",
    "timeout",
    "crashed",
    "no-output",
    "forward-wrong",
)

#: Sentences for any role, when a role has no sentence of its own for a mistake.
_COMMON = {
    "flipped": "kernel flipped: a convolution where the lab means a cross-correlation",
    "flipped-rows": "kernel flipped upside down",
    "flipped-cols": "kernel flipped left to right",
    "reversed": "output rotated by 180 degrees",
    "transposed-kernel": "kernel transposed: k_lk was used for k_kl",
    "transposed-image": "image transposed: its rows were used as its columns",
    "dy-unused": "dL/dY not used: the output is what dL/dY = 1 everywhere gives",
    "borders-missing": "border terms missing: right inside, wrong along the borders",
    "same-size": "'same' size: as large as the input, where the lab's output is 'valid'",
    "full-size": "'full' size, where the lab's output is 'valid'",
    "valid-size": "'valid' size, where the lab's output is 'full'",
    "dy-size": "the shape of dL/dY",
    "not-normalized": "not divided by the maximum",
    "no-sqrt": "no square root",
    "abs-sum": "|a| + |b| where the lab has sqrt(a^2 + b^2)",
    "only-gx": "only Gx*I",
    "only-gy": "only Gy*I",
    "transposed-output": "output transposed: y_ji was written where y_ij belongs",
    "off-by-one": (
        "off by one: a row or a column too many or too few (loop bounds: 1:n in R and "
        "range(n) in Python both run n times)"
    ),
    "shifted": (
        "off by one: the values are shifted by a row or a column (a 1-based index i+k-1 is "
        "the 0-based i+k)"
    ),
    "sign": "sign flipped: the output is minus the right one",
    "factor-2": "a factor of 2: the output is twice the right one",
    "half": "a factor of 1/2: the output is half the right one",
    "scaled": "scaled: the output is the right one times a constant",
    "truncated": (
        "rounded to integers: the output array has an integer dtype (np.zeros_like(x) on an "
        "integer input?); create it as float"
    ),
    "not-2d": (
        "not a matrix: a one-row or one-column result must stay 2-D (numpy: slice with "
        "x[i:i+1], not x[i]; R: drop = FALSE)"
    ),
    "wrong-shape": "wrong shape",
    "nan": (
        "NaN or infinite values (a division by zero, or an array made with np.empty and not "
        "filled everywhere?)"
    ),
    "not-array": ("the function returns no 2-D array of numbers (a missing return gives None)"),
    "raised": "the function raised an exception: see the smallest failing case",
    "timeout": ("no answer within the timeout: an endless loop, or too slow (give more time?)"),
    "crashed": "the process crashed or exited with an error status",
    "no-output": "no readable output file was written",
    "forward-wrong": (
        "the gradient is right, but finite differences of your own forward disagree with it: "
        "the forward is wrong (check it on its own, role forward)"
    ),
}

_SENTENCES: dict[Role, dict[str, str]] = {
    "forward": {
        "flipped": (
            "kernel flipped: this is a convolution (K rotated by 180 degrees) where the lab's "
            "eq. (3) is a cross-correlation, y_ij = sum_kl x_{i+k-1,j+l-1} k_kl: k and l run "
            "the same way on X and on K"
        ),
        "flipped-rows": "kernel flipped upside down: row k of K meets row i+k-1 of X",
        "flipped-cols": "kernel flipped left to right: column l of K meets column j+l-1 of X",
        "transposed-kernel": (
            "kernel transposed: k_lk was used for k_kl (R's matrix() fills by column unless "
            "byrow = TRUE)"
        ),
        "transposed-image": "image transposed: X's rows were used as its columns",
        "same-size": (
            "'same' size: the output is as large as X, where eq. (3) gives the valid "
            "(r(X)-r(K)+1) x (c(X)-c(K)+1): leave out the positions where K sticks out of X"
        ),
        "full-size": (
            "'full' size: (r(X)+r(K)-1) x (c(X)+c(K)-1), every overlap of K with X; eq. (3) "
            "keeps the positions where K lies inside X, (r(X)-r(K)+1) x (c(X)-c(K)+1)"
        ),
    },
    "grad-input": {
        "flipped": (
            "K not flipped: this is the full cross-correlation of dL/dY with K, where eq. (6) "
            "pairs dL/dy_{i-k+1,j-l+1} with k_kl, the indices running opposite ways: the full "
            "convolution, K rotated by 180 degrees"
        ),
        "flipped-rows": "K flipped upside down only: in eq. (6) row i-k+1 of dL/dY meets row k",
        "flipped-cols": (
            "K flipped left to right only: in eq. (6) column j-l+1 of dL/dY meets column l"
        ),
        "transposed-kernel": "kernel transposed: k_lk was used for k_kl",
        "dy-unused": (
            "dL/dY not used: the output is what dL/dY = 1 everywhere gives; eq. (6) weighs "
            "k_kl by dL/dy_{i-k+1,j-l+1}"
        ),
        "borders-missing": (
            "border terms missing: right inside, wrong in the first and last r(K)-1 rows or "
            "c(K)-1 columns; eq. (6)'s limits L_k = max(1, i-r(X)+r(K)), U_k = min(r(K), i) "
            "keep every term whose dL/dY index lies inside dL/dY"
        ),
        "dy-size": (
            "the shape of dL/dY: dL/dX has the shape of X, (r(Y)+r(K)-1) x (c(Y)+c(K)-1), the "
            "full convolution of dL/dY with K"
        ),
        "valid-size": (
            "a valid-size result, (r(Y)-r(K)+1) x (c(Y)-c(K)+1): dL/dX is the full "
            "convolution of dL/dY with K, the shape of X"
        ),
        "factor-2": (
            "a factor of 2: twice the right answer (dL/dY is an input: use it as it is, the "
            "2 of L = sum(y^2) is already in it)"
        ),
    },
    "grad-kernel": {
        "flipped": (
            "dL/dY flipped: this is a convolution of X with dL/dY where eq. (5) is their "
            "cross-correlation, dL/dk_kl = sum_ij dL/dy_ij x_{i+k-1,j+l-1}"
        ),
        "reversed": ("dL/dK rotated by 180 degrees: the value of k_kl sits at r(K)-k+1, c(K)-l+1"),
        "transposed-image": "image transposed: X's rows were used as its columns",
        "dy-unused": (
            "dL/dY not used: the output is what dL/dY = 1 everywhere gives; eq. (5) weighs "
            "x_{i+k-1,j+l-1} by dL/dy_ij"
        ),
        "same-size": ("the shape of X: dL/dK has the shape of K, (r(X)-r(Y)+1) x (c(X)-c(Y)+1)"),
        "dy-size": "the shape of dL/dY: dL/dK has the shape of K, (r(X)-r(Y)+1) x (c(X)-c(Y)+1)",
        "factor-2": (
            "a factor of 2: twice the right answer (dL/dY is an input: use it as it is, the "
            "2 of L = sum(y^2) is already in it)"
        ),
    },
    "edges": {
        "not-normalized": (
            "not divided by the maximum: E = sqrt((Gx*I)^2 + (Gy*I)^2) / max, whose largest "
            "value is 1"
        ),
        "no-sqrt": "no square root: E = sqrt((Gx*I)^2 + (Gy*I)^2), then divided by its maximum",
        "abs-sum": "|Gx*I| + |Gy*I| where eq. (2) has sqrt((Gx*I)^2 + (Gy*I)^2)",
        "only-gx": "only Gx*I: E combines both, sqrt((Gx*I)^2 + (Gy*I)^2)",
        "only-gy": "only Gy*I: E combines both, sqrt((Gx*I)^2 + (Gy*I)^2)",
        "same-size": (
            "'same' size: H x W, where the lab's E is valid, (H-2) x (W-2): leave out the "
            "border pixels, where the 3 x 3 kernels stick out of the image"
        ),
        "full-size": "'full' size: (H+2) x (W+2), where the lab's E is (H-2) x (W-2)",
        "transposed-image": "image transposed: the rows of the image were used as its columns",
    },
}


_TITLES = {
    "flipped-rows": "kernel flipped upside down",
    "flipped-cols": "kernel flipped left-right",
    "reversed": "dL/dK rotated 180 degrees",
    "transposed-kernel": "kernel transposed",
    "transposed-image": "image transposed",
    "transposed-output": "output transposed",
    "dy-unused": "dL/dY not used",
    "borders-missing": "border terms missing",
    "same-size": "'same' size",
    "full-size": "'full' size",
    "valid-size": "'valid' size",
    "dy-size": "shape of dL/dY",
    "off-by-one": "off by one",
    "shifted": "shifted by one",
    "not-normalized": "not divided by max",
    "no-sqrt": "no square root",
    "abs-sum": "|Gx*I| + |Gy*I|",
    "only-gx": "only Gx*I",
    "only-gy": "only Gy*I",
    "sign": "sign flipped",
    "factor-2": "factor of 2",
    "half": "factor of 1/2",
    "scaled": "scaled",
    "truncated": "rounded to integers",
    "not-2d": "not 2-D",
    "wrong-shape": "wrong shape",
    "nan": "NaN or Inf",
    "not-array": "not an array",
    "raised": "raised",
    "timeout": "timed out",
    "crashed": "crashed",
    "no-output": "no output file",
    "forward-wrong": "forward wrong",
}
_FLIPPED_TITLES: dict[Role, str] = {
    "forward": "kernel flipped (convolution)",
    "grad-input": "K not flipped (correlation)",
    "grad-kernel": "dL/dY flipped (convolution)",
    "edges": "kernel flipped",
}


def sentence(key: str, role: Role) -> str:
    """The teaching sentence of mistake ``key`` for ``role``."""
    return _SENTENCES[role].get(key) or _COMMON.get(key) or key


def title(key: str, role: Role) -> str:
    """A few words naming mistake ``key``, for a table cell."""
    if key == "flipped":
        return _FLIPPED_TITLES[role]
    if key == "same-size" and role == "grad-kernel":
        return "shape of X"
    return _TITLES.get(key, key)
