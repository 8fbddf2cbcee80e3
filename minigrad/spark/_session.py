"""The Spark session the helpers of :mod:`minigrad.spark` run on, what a local master offers,
and the Python error inside a failed job: one place for each (the executor and the distributor
ask)."""

from __future__ import annotations

import os
import re

__all__ = ["spark_context", "local_session", "local_slots", "python_error", "INSTALL_HINT"]

INSTALL_HINT = "pip install 'minigrad[spark]' (pyspark, with Java 17 or later)"


def spark_context(spark, owner: str):
    """The SparkContext of ``spark`` (a SparkSession or a SparkContext), or of the active
    session, or of ``SparkSession.builder.getOrCreate()`` (local[*] unless spark-submit or the
    configuration says otherwise) when ``spark`` is None."""
    try:
        from pyspark import SparkContext
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ImportError(f"{owner}: needs pyspark: {INSTALL_HINT}") from exc
    if spark is None:
        spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    if isinstance(spark, SparkContext):
        return spark
    context = getattr(spark, "sparkContext", None)
    if not isinstance(context, SparkContext):
        raise TypeError(f"{owner}: spark must be a SparkSession or a SparkContext, got "
                        f"{type(spark).__name__}")
    return context


def local_session(cores: int = 2, app: str = "minigrad", log_level: str = "ERROR"):
    """A local-mode SparkSession of ``cores`` task slots (``local[cores]``) set up for one
    machine: no web UI, no console progress bar, ``cores`` shuffle partitions, Arrow for pandas
    conversions, the Python workers on this interpreter; an active session is returned as it
    is (Spark keeps one per process)."""
    import sys
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ImportError(f"local_session: needs pyspark: {INSTALL_HINT}") from exc
    spark = (SparkSession.builder.master(f"local[{int(cores)}]").appName(app)
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", str(int(cores)))
             .config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .getOrCreate())
    spark.sparkContext.setLogLevel(log_level)
    return spark


def local_slots(master: str):
    """The number of tasks a local master runs at once (``local`` 1, ``local[4]`` 4,
    ``local[*]`` the cores, ``local[4, 2]`` 4), or None for a cluster's master."""
    if master == "local":
        return 1
    found = re.fullmatch(r"local\[(\*|\d+)(?:\s*,\s*\d+)?\]", master.strip())
    if found is None:
        return None
    return (os.cpu_count() or 1) if found.group(1) == "*" else int(found.group(1))


def python_error(exc) -> str:
    """The Python traceback inside the error of a failed Spark job (its Java stack trace left
    out), or the error's text when it holds none."""
    text = str(exc)
    start = text.find("Traceback (most recent call last)")
    if start < 0:
        return text.strip()
    end = min((i for i in (text.find(" SQLSTATE", start), text.find("\tat org.apache", start))
               if i >= 0), default=len(text))
    return text[start:end].rstrip()
