"""HMM kernels (log-space forward-backward, Viterbi) vs the slow log-space references.

Proves: posteriors, per-segment log-likelihoods and expected transitions equal
the textbook recursions on random short segmented sequences with unobserved
(NaN) rows, empty and single-row segments, zero transition / initial
probabilities (impossible segments included); Viterbi paths reach the brute-force
best score; a hand-worked two-state case; extreme emissions do not overflow;
bad shapes are refused.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from moveo.kernels.hmm import forward_backward, viterbi
from reference import hmm as ref


@st.composite
def hmm_case(draw, max_len=12, zeros=False):
    k = draw(st.integers(1, 4))
    lengths = draw(st.lists(st.integers(0, max_len), min_size=0, max_size=4))
    n = sum(lengths)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    probs = st.sampled_from([0.0, 0.2, 1.0]) if zeros else st.floats(0.01, 1.0)
    pi = draw(hnp.arrays(np.float64, k, elements=probs))
    a = draw(hnp.arrays(np.float64, (k, k), elements=probs))
    pi[0] += pi.sum() == 0
    a[np.arange(k), np.arange(k)] += a.sum(1) == 0
    lb = draw(hnp.arrays(np.float64, (n, k), elements=st.floats(-30.0, 5.0)))
    nan_rows = draw(hnp.arrays(np.bool_, n)) if n else np.zeros(0, dtype=bool)
    lb[nan_rows, draw(st.integers(0, k - 1))] = np.nan
    with np.errstate(divide="ignore"):
        return np.log(pi / pi.sum()), np.log(a / a.sum(1, keepdims=True)), lb, offsets


@settings(deadline=None, max_examples=150)
@given(st.one_of(hmm_case(), hmm_case(zeros=True)))
def test_forward_backward_matches_reference(case):
    log_pi, log_a, log_b, offsets = case
    ll, gamma, xi, gfirst = forward_backward(log_pi, log_a, log_b, offsets)
    r_ll, r_gamma, r_xi, r_gfirst = ref.forward_backward(log_pi, log_a, log_b, offsets)
    np.testing.assert_allclose(ll, r_ll, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gamma, r_gamma, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(xi, r_xi, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(gfirst, r_gfirst, rtol=1e-8, atol=1e-12)
    # each possible segment: posteriors sum to one per row, transitions to length - 1
    pairs = list(zip(offsets[:-1], offsets[1:], strict=True))
    for (s, e), seg_ll in zip(pairs, ll, strict=True):
        if e > s and np.isfinite(seg_ll):
            np.testing.assert_allclose(gamma[s:e].sum(1), 1.0, rtol=1e-10)
    n_steps = sum(max(e - s - 1, 0) for (s, e), v in zip(pairs, ll, strict=True) if v > -np.inf)
    assert xi.sum() == pytest.approx(n_steps, rel=1e-9, abs=1e-9)


@settings(deadline=None, max_examples=100)
@given(st.one_of(hmm_case(max_len=5), hmm_case(max_len=5, zeros=True)))
def test_viterbi_reaches_the_brute_force_best_path(case):
    log_pi, log_a, log_b, offsets = case
    states, score = viterbi(log_pi, log_a, log_b, offsets)
    assert states.shape == (log_b.shape[0],)
    for g, (s, e) in enumerate(zip(offsets[:-1], offsets[1:], strict=True)):
        best = ref.viterbi_score(log_pi, log_a, log_b, s, e)
        assert score[g] == pytest.approx(best, rel=1e-10, abs=1e-10)
        path = ref.path_log_prob(log_pi, log_a, log_b, states, s, e)
        assert path == pytest.approx(best, rel=1e-10, abs=1e-10)


def test_hand_worked_two_states():
    # two rows, pi = (1/2, 1/2), stay/switch 0.9 / 0.1, emissions (1, 0) then (0, 1)
    lp = np.log([0.5, 0.5])
    la = np.log([[0.9, 0.1], [0.1, 0.9]])
    lb = np.log([[1.0, 1e-300], [1e-300, 1.0]])
    ll, gamma, xi, gfirst = forward_backward(lp, la, lb)
    # only the path 0 -> 1 has non-negligible probability: 0.5 * 0.1 * 1 * 1
    assert ll[0] == pytest.approx(np.log(0.05), rel=1e-12)
    np.testing.assert_allclose(gamma, [[1.0, 0.0], [0.0, 1.0]], atol=1e-12)
    np.testing.assert_allclose(xi, [[0.0, 1.0], [0.0, 0.0]], atol=1e-12)
    states, score = viterbi(lp, la, lb)
    assert states.tolist() == [0, 1]
    assert score[0] == pytest.approx(np.log(0.05), rel=1e-12)
    # an unobserved middle row: the chain runs through it on the transitions
    lb3 = np.vstack([lb[:1], [np.nan, 0.0], lb[1:]])
    ll3, gamma3, _, _ = forward_backward(lp, la, lb3)
    # paths 0 -> z -> 1: 0.5 * (0.9 * 0.1 + 0.1 * 0.9) = 0.09
    assert ll3[0] == pytest.approx(np.log(0.09), rel=1e-12)
    np.testing.assert_allclose(gamma3[1], [0.5, 0.5], rtol=1e-12)


def test_single_row_empty_and_extreme_values():
    lp = np.log([0.25, 0.75])
    la = np.log([[0.5, 0.5], [0.5, 0.5]])
    ll, gamma, xi, gfirst = forward_backward(lp, la, np.array([[-2.0, -1.0]]))
    assert ll[0] == pytest.approx(np.log(0.25 * np.exp(-2) + 0.75 * np.exp(-1)))
    assert xi.sum() == 0.0 and gfirst.sum() == pytest.approx(1.0)
    ll, gamma, xi, gfirst = forward_backward(lp, la, np.empty((0, 2)), np.array([0]))
    assert ll.shape == (0,) and gamma.shape == (0, 2)
    states, score = viterbi(lp, la, np.empty((0, 2)), np.array([0, 0]))
    assert states.shape == (0,) and score.tolist() == [0.0]
    # log-likelihoods of -1e5 per row would underflow any probability-space recursion
    lb = np.full((50, 2), -1e5)
    lb[:, 1] -= 1.0
    ll, gamma, _, _ = forward_backward(lp, la, lb)
    assert np.isfinite(ll[0]) and ll[0] < -4.9e6
    assert np.isfinite(gamma).all()
    # an impossible segment: log-likelihood -inf, posteriors 0
    ll, gamma, _, _ = forward_backward(lp, la, np.full((3, 2), -np.inf))
    assert ll[0] == -np.inf and not gamma.any()


def test_bad_input():
    lp = np.log([0.5, 0.5])
    la = np.log([[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match=r"log_a must have shape \(2, 2\)"):
        forward_backward(lp, la[:1], np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"log_b must have shape \(n_rows, 2\)"):
        viterbi(lp, la, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="offsets must"):
        forward_backward(lp, la, np.zeros((3, 2)), np.array([0, 2]))
    with pytest.raises(ValueError, match="must not contain NaN"):
        forward_backward(np.array([np.nan, 0.0]), la, np.zeros((3, 2)))
