"""``borrowed``: a view of the same memory without a reference-count handle (the kernel's helpers use it)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from trading.engine.borrowed import borrowed


@njit
def _write_through_borrowed(a):
    b = borrowed(a)
    b[1, 2] = 7.5
    return a[1, 2], b.shape[0], b.shape[1], b[0, 0]


@njit
def _borrow_scalar(x):
    return borrowed(x)


def test_a_borrowed_view_reads_and_writes_the_callers_array_and_leaves_its_count_alone():
    a = np.arange(12.0).reshape(3, 4)
    before = sys.getrefcount(a)
    seen, rows, cols, first = _write_through_borrowed(a)
    assert (seen, rows, cols, first) == (7.5, 3, 4, 0.0)
    assert a[1, 2] == 7.5  # the write landed in the caller's memory
    assert sys.getrefcount(a) == before  # nothing leaked or released by the view


def test_only_arrays_can_be_borrowed():
    with pytest.raises(TypingError):
        _borrow_scalar(1.0)
