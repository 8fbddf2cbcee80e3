"""SparkExecutor: a ``concurrent.futures.Executor`` whose calls run as Spark tasks, as hyperopt's
``SparkTrials`` runs trials, so that a study spreads its trials over a Spark cluster unchanged::

    from minigrad import tune
    with tune.SparkExecutor() as executor:          # the active SparkSession, or a new one
        study.optimize(objective, 64, executor=executor)

How: ``submit(fn, *args)`` hands the call to one of ``parallelism`` driver threads, which runs
it as a Spark job of one task (``sc.parallelize([0], 1).map(...)``) in a job group of its own
(``setJobGroup(..., interruptOnCancel=True)``). ``parallelism`` (default the context's
``defaultParallelism``: the cores of ``local[n]``, the executors' cores on a cluster) is how many
trials run at once, and ``Study.optimize`` takes it as its batch size, so the trials are those
of a serial study with ``batch_size=parallelism`` for the same seed (the study proposes every
trial of a batch on the driver, from one snapshot; Spark only runs them). Values computed with
float32 matrix products are equal bit for bit where NumPy uses as many BLAS threads as on the
executors (Spark sets OMP_NUM_THREADS to ``spark.task.cpus``, 1 by default): OpenBLAS rounds
differently on more threads.

What travels: ``fn`` and its arguments go to the executors by Spark's closure serializer
(cloudpickle), and the result comes back as any Spark task result: a function defined in
``__main__`` (a script, a notebook) travels by value; one from a module must be importable on
the executors (minigrad's own are, once ``minigrad[spark]`` is installed there; for a module of
yours, ``sc.addPyFile`` or ``pyspark.cloudpickle.register_pickle_by_value(module)``).

Errors: an exception raised by ``fn`` on the executor is the future's exception, its remote
traceback as ``__cause__`` (as ``ProcessPoolExecutor`` does); a study's objective never gets
that far, since ``run_trial`` records a raising objective as a failed trial with its error. A
task that Spark itself loses (the worker killed, a result that cannot be serialized) ends its
future with :class:`SparkTaskError` holding Spark's message.

Cancelling: ``future.cancel()`` cancels a call that has not started; ``shutdown(cancel_futures=
True)`` also cancels the Spark jobs of the running ones (``cancelJobGroup``, interrupting their
tasks), whose futures then raise ``CancelledError``; leaving a ``with SparkExecutor()`` block by
an exception (a study interrupted, a callback that raised) does that. Ctrl-C on the driver
cancels every Spark job anyway (PySpark's own SIGINT handler).
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import pickle
import threading
import time
import traceback
import uuid

from ..training._helpers import _check_int
from ._session import python_error, spark_context

__all__ = ["SparkExecutor", "SparkTaskError"]


class SparkTaskError(RuntimeError):
    """The Spark task of a call failed in Spark itself (not by an exception of the call)."""


class _RemoteTraceback(Exception):
    """The traceback of an exception raised on a Spark executor (its ``__cause__``)."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return "\n\"\"\"\n" + self.text + "\"\"\""


def _call(fn, args, kwargs):
    """Run on the executor: ``("ok", result)`` or ``("raised", exception, traceback text)``
    (an exception that cannot be pickled comes back as a RuntimeError with its text)."""
    try:
        return ("ok", fn(*args, **kwargs))
    except Exception as exc:  # the caller's future raises it
        text = traceback.format_exc()
        try:
            pickle.dumps(exc)
        except Exception:
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        return ("raised", exc, text)


class SparkExecutor(cf.Executor):
    """Run each submitted call as a Spark task (see the module docstring).

    Args:
        spark: a SparkSession or SparkContext; default the active session, else
            ``SparkSession.builder.getOrCreate()``.
        parallelism: calls running at once (default the context's ``defaultParallelism``).
    """

    def __init__(self, spark=None, parallelism=None):
        self._context = spark_context(spark, "SparkExecutor")
        if parallelism is None:
            parallelism = self._context.defaultParallelism
        parallelism = _check_int("SparkExecutor", "parallelism", parallelism)
        self._max_workers = parallelism     # what Study.optimize takes as its batch size
        self._threads = cf.ThreadPoolExecutor(parallelism, thread_name_prefix="minigrad-spark")
        self._prefix = f"minigrad-{uuid.uuid4().hex[:12]}"
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._futures = set()        # not yet done
        self._running = {}           # job group -> its future
        self._cancelling = False
        self._closed = False

    @property
    def parallelism(self) -> int:
        return self._max_workers

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        """Schedule ``fn(*args, **kwargs)`` as a Spark task; returns its Future (with
        ``spark_job_group``, the job group its Spark job runs in)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("SparkExecutor: cannot schedule new calls after shutdown")
            future = cf.Future()
            future.spark_job_group = f"{self._prefix}-{next(self._numbers)}"
            self._futures.add(future)
        future.add_done_callback(self._forget)
        self._threads.submit(self._run, future, fn, args, kwargs)
        return future

    def _forget(self, future) -> None:
        with self._lock:
            self._futures.discard(future)

    def _run(self, future, fn, args, kwargs) -> None:
        """On a driver thread: the call's Spark job, and its outcome into ``future``."""
        if not future.set_running_or_notify_cancel():
            return
        group = future.spark_job_group
        with self._lock:
            if self._cancelling:
                future.set_exception(cf.CancelledError("SparkExecutor: shut down before the "
                                                       "call started"))
                return
            self._running[group] = future
        name = getattr(fn, "__qualname__", type(fn).__name__)
        try:
            self._context.setJobGroup(group, f"minigrad SparkExecutor: {name}",
                                      interruptOnCancel=True)
            outcome = self._context.parallelize([0], 1).map(
                lambda _: _call(fn, args, kwargs)).collect()[0]
        except Exception as exc:
            with self._lock:
                cancelled = self._cancelling
            if cancelled:
                future.set_exception(cf.CancelledError(f"SparkExecutor: the Spark job of "
                                                       f"{name} was cancelled (job group "
                                                       f"{group})"))
            else:
                error = SparkTaskError(f"SparkExecutor: the Spark task of {name} failed:\n"
                                       f"{python_error(exc)}")
                error.__cause__ = exc
                future.set_exception(error)
        else:
            if outcome[0] == "ok":
                future.set_result(outcome[1])
            else:
                _, error, text = outcome
                error.__cause__ = _RemoteTraceback(text)
                future.set_exception(error)
        finally:
            with self._lock:
                self._running.pop(group, None)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No new calls; with ``cancel_futures`` the calls not started are cancelled and the
        Spark jobs of the running ones too (their futures raise CancelledError); with
        ``wait`` return once every call has ended."""
        with self._lock:
            self._closed = True
            if cancel_futures:
                self._cancelling = True
            futures = list(self._futures)
        if cancel_futures:
            for future in futures:
                future.cancel()              # those not started yet
            self._cancel_running(until_done=wait)
        self._threads.shutdown(wait=wait)

    def _cancel_running(self, until_done: bool) -> None:
        """Cancel the job groups of the running calls; with ``until_done`` again until none
        runs (a call between starting and launching its job would miss one cancellation)."""
        while True:
            with self._lock:
                groups = list(self._running)
            for group in groups:
                self._context.cancelJobGroup(group)
            if not groups or not until_done:
                return
            time.sleep(0.05)

    def __exit__(self, exc_type, exc, tb):
        """Leaving the block by an exception cancels what still runs."""
        self.shutdown(wait=True, cancel_futures=exc_type is not None)
        return False

    def __repr__(self) -> str:
        return (f"SparkExecutor(master={self._context.master!r}, "
                f"parallelism={self._max_workers})")
