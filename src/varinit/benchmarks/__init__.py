"""varinit's fills beside numpy (and torch) on one buffer: the code behind
``varinit bench``, ``bench/report.py`` and the ``bench/`` pytest suite.

Every published figure comes from this code, which a user can run; it uses
only varinit's public API and the distribution table.  ``import varinit``
does not import it: ``varinit.benchmarks`` loads on first use.

Modules
-------
workloads
    The workloads, numpy's and torch's counterpart of each distribution,
    and the rows of a run (:func:`specs`).
runners
    The timed callables (:func:`make_runner`) and the warm buffers.
timing
    Timing, measuring in interleaved rounds, derived ratios, parallel capacity.
machine
    CPU, memory and versions (:func:`machine_info`).
tables
    Text and Markdown tables, :func:`describe_run`.
cli
    The argument parser of ``varinit bench`` and :func:`run_bench`.

Method
------
* Every in-place workload writes into one preallocated buffer per dtype whose
  pages were touched (``buf.fill``) before any timing.
* Each case is called once to warm up, then timed ``repeats`` times with
  ``time.perf_counter``.  The cases of one workload are timed in interleaved
  rounds (varinit, numpy, torch, varinit, ...), so a burst of load from
  another process hits all of them alike and ratios stay comparable.
* varinit rows force their kernel path with ``with varinit.use_kernel(path)``
  and their thread count with ``with varinit.num_threads(n)``, both settings
  of the calling thread, around each call of the public ``fill_*`` function.
* Rates use the best time (best-of-N); the spread is ``median / best - 1``.
* ``ratio`` = baseline time / case time for the same workload, measured in
  the same run (> 1: faster than the baseline).  The baseline is numpy's
  ``Generator`` with the same number of threads (the ``SeedSequence.spawn``
  plus thread-pool recipe of numpy's documentation when threads > 1), or
  ``np.empty(shape)`` + ``fill`` for the new-array workload.
* ``of buf.fill`` = samples/s / the samples/s of a one-thread ``buf.fill``
  on a warm buffer of the same dtype: the fraction of store bandwidth
  reached.  ``buf.fill`` is also timed split over all threads, to show how
  much more bandwidth several cores get.
"""
from __future__ import annotations

from .cli import build_parser, parse_int_list, parse_name_list, parse_size, run_bench
from .machine import machine_info, torch_available
from .runners import Buffers, make_runner
from .tables import describe_run, markdown_table, text_table
from .timing import (
    DEFAULT_REPEATS, DEFAULT_SIZE, Result, derive, measure, parallel_capacity, reference_specs,
    time_call,
)
from .workloads import SEED, WORKLOADS, Spec, Workload, numpy_truncated_normal, specs

__all__ = [
    # what is measured
    "WORKLOADS", "Workload", "Spec", "SEED", "specs", "numpy_truncated_normal",
    # running and timing
    "Buffers", "make_runner", "time_call", "measure", "Result", "derive", "reference_specs",
    "parallel_capacity", "DEFAULT_SIZE", "DEFAULT_REPEATS",
    # reporting
    "machine_info", "torch_available", "text_table", "markdown_table", "describe_run",
    # command line
    "run_bench", "build_parser", "parse_size", "parse_int_list", "parse_name_list",
]
