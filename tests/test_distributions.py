"""Distribution tests: fixed seeds and enough samples to be decisive.

With 2**20 samples the KS statistic of a correct sampler stays far below
the thresholds used (p-values are reported by scipy; we require p > 1e-4,
which a correct sampler fails with probability 1e-4 for a given seed, and
the seeds are fixed, so the outcome is deterministic).  A wrong scale,
shift or truncation point of even 1% moves the statistic far past them.
"""
import numpy as np
import pytest
from scipy import stats

import varinit

N = 1 << 20


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("low,high", [(-0.05, 0.05), (2.0, 7.0)])
def test_uniform_ks_and_moments(dtype, low, high):
    x = varinit.fill_uniform(np.empty(N, dtype), low, high, seed=11)
    assert stats.kstest(x, stats.uniform(low, high - low).cdf).pvalue > 1e-4
    width = high - low
    assert abs(x.mean() - (low + high) / 2) < 5 * width / np.sqrt(12 * N)
    assert abs(x.var() / (width**2 / 12) - 1) < 0.01


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normal_ks_and_moments(dtype):
    mean, stddev = 0.3, 0.02
    x = varinit.fill_normal(np.empty(N, dtype), mean, stddev, seed=12)
    assert not np.isnan(x).any()
    assert stats.kstest(x, stats.norm(mean, stddev).cdf).pvalue > 1e-4
    assert abs(x.mean() - mean) < 5 * stddev / np.sqrt(N)
    assert abs(x.std() / stddev - 1) < 0.005


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_truncated_normal_ks_and_moments(dtype):
    mean, stddev = -1.0, 0.5
    x = varinit.fill_truncated_normal(np.empty(N, dtype), mean, stddev, seed=13)
    ref = stats.truncnorm(-2, 2, loc=mean, scale=stddev)
    assert stats.kstest(x, ref.cdf).pvalue > 1e-4
    assert abs(x.mean() - mean) < 5 * ref.std() / np.sqrt(N)
    assert abs(x.std() / ref.std() - 1) < 0.005
    # and it is not an untruncated normal: that would fail decisively
    assert stats.kstest(x, stats.norm(mean, stddev).cdf).pvalue < 1e-10


def test_distribution_tests_can_fail():
    """The KS threshold rejects a 1% scale error at this sample size."""
    x = varinit.fill_truncated_normal(np.empty(N, np.float32), 0.0, 1.01, seed=13)
    assert stats.kstest(x, stats.truncnorm(-2, 2).cdf).pvalue < 1e-4


@pytest.mark.parametrize("fill,args,lo,hi,closed", [
    (varinit.fill_uniform, (-0.1, 0.1), -0.1, 0.1, False),
    (varinit.fill_uniform, (0.0, 1.0), 0.0, 1.0, False),
    (varinit.fill_truncated_normal, (0.0, 0.05), -0.1, 0.1, True),
    (varinit.fill_truncated_normal, (3.0, 1.0 / 3.0), 3.0 - 2.0 / 3.0, 3.0 + 2.0 / 3.0, True),
])
def test_bounds_on_every_element_of_a_large_fill(fill, args, lo, hi, closed):
    x = fill(np.empty(1 << 24, np.float32), *args, seed=14)
    assert not np.isnan(x).any()
    assert float(x.min()) >= lo
    assert float(x.max()) <= hi if closed else float(x.max()) < hi


def test_uniform_never_rounds_up_to_high():
    # A tiny interval where base + u*width rounds to `high` for many u.
    high = float(np.float32(1.0))
    low = float(np.nextafter(np.float32(1.0), np.float32(0), dtype=np.float32)) - 4e-7
    x = varinit.fill_uniform(np.empty(1 << 16, np.float32), low, high, seed=1)
    assert float(x.max()) < high and float(x.min()) >= low


def test_float64_uses_53_bits():
    x = varinit.fill_uniform(np.empty(1 << 16, np.float64), seed=3)
    # float32-resolution values would all be multiples of 2**-24
    assert np.any((x * 2.0**24) % 1.0 != 0)
