"""Fixtures shared by the file tests."""
import pytest

from varinit.io import _workers


@pytest.fixture
def small_windows(monkeypatch):
    """Force many tiny windows (and several workers) so window seams are exercised."""
    monkeypatch.setattr(_workers, "BUFFER_BUDGET", 64 << 10)
    monkeypatch.setattr(_workers, "MAX_WINDOW", 8 << 10)
    monkeypatch.setattr(_workers, "MIN_WINDOW", 1 << 10)
