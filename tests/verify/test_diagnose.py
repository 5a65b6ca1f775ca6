"""The mistakes named from outputs made on purpose, in process (no child process needed)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from sobelcli.verify import MISTAKES, battery, diagnose, reference, sentence
from sobelcli.verify.diagnose import summarize, title
from sobelcli.verify.mistakes import _SENTENCES

CASE = battery("forward", 1)[0]  # 6 x 8 image, 2 x 3 kernel, random values
X, K, DY = CASE.x, CASE.k, CASE.dy


def corr(x: np.ndarray, k: np.ndarray, mode: str = "valid") -> np.ndarray:
    return signal.correlate2d(x, k, mode)


FORWARD = {
    "flipped": lambda: signal.convolve2d(X, K, "valid"),
    "flipped-rows": lambda: corr(X, K[::-1]),
    "flipped-cols": lambda: corr(X, K[:, ::-1]),
    "transposed-kernel": lambda: corr(X, K.T),
    "transposed-image": lambda: corr(X.T, K),
    "transposed-output": lambda: corr(X, K).T,
    "same-size": lambda: corr(X, K, "same"),
    "full-size": lambda: corr(X, K, "full"),
    "off-by-one": lambda: corr(X, K)[:-1],
    "shifted": lambda: np.vstack([corr(X, K)[1:], np.zeros((1, 6))]),
    "sign": lambda: -corr(X, K),
    "factor-2": lambda: 2 * corr(X, K),
    "half": lambda: corr(X, K) / 2,
    "scaled": lambda: 3.7 * corr(X, K),
}


@pytest.mark.parametrize("mistake", sorted(FORWARD))
def test_forward_mistakes_are_named(mistake: str) -> None:
    found = diagnose("forward", CASE, FORWARD[mistake]())
    assert found[:1] == (mistake,), found


def test_the_right_answer_and_noise_are_no_known_mistake() -> None:
    assert diagnose("forward", CASE, reference("forward", CASE)) == ()
    noise = np.random.default_rng(0).standard_normal((5, 6))
    assert diagnose("forward", CASE, noise) == ()
    assert diagnose("forward", CASE, np.zeros(30)) == ()  # not 2-D: named elsewhere


def test_gradient_and_edge_mistakes() -> None:
    g_case = battery("grad-input", 1)[0]
    ones = np.ones_like(g_case.dy)
    assert diagnose("grad-input", g_case, signal.correlate2d(g_case.dy, g_case.k, "full"))[0] == (
        "flipped"
    )
    assert diagnose("grad-input", g_case, signal.convolve2d(ones, g_case.k, "full")) == (
        "dy-unused",
    )
    k_case = battery("grad-kernel", 1)[0]
    right = reference("grad-kernel", k_case)
    assert diagnose("grad-kernel", k_case, right[::-1, ::-1]) == ("reversed",)
    assert diagnose("grad-kernel", k_case, -right) == ("sign",)
    e_case = battery("edges", 1)[0]
    e = reference("edges", e_case)
    assert diagnose("edges", e_case, e * 17.0)[0] == "scaled"
    assert diagnose("edges", e_case, e**2 * 5.0)[0] == "no-sqrt"  # squares, any scale


def test_integer_truncation_is_named() -> None:
    case = next(c for c in battery("forward", 15) if c.x.dtype == np.uint8)
    stored = np.trunc(reference("forward", case)).astype(np.int64).astype(np.uint8)
    assert diagnose("forward", case, stored) == ("truncated",)


def test_summary_prefers_the_mistake_most_cases_share() -> None:
    # the lab's Gx flipped is minus Gx: one case cannot tell, the others can
    assert summarize([("flipped", "sign"), ("flipped",), ("flipped",)]) == ("flipped", 3)
    assert summarize([("sign", "flipped")]) == ("flipped", 1)  # a tie goes to the earlier one
    assert summarize([(), ("raised",), ("raised",), ("nan",)]) == ("raised", 2)
    assert summarize([(), ()]) == (None, 0)


def test_every_mistake_has_words_for_every_role() -> None:
    for role in ("forward", "grad-input", "grad-kernel", "edges"):
        for key in MISTAKES:
            assert sentence(key, role) != key, (role, key)
            assert 0 < len(title(key, role)) <= 30
        assert set(_SENTENCES[role]) <= set(MISTAKES)
