"""minigrad on Apache Spark (the ``minigrad[spark]`` extra: pyspark, with Java 17+): Spark
schedules, Spark's barrier execution mode coordinates, Spark moves the data.

    executor.py     SparkExecutor: a concurrent.futures.Executor running each call (a tuning
                    trial: ``study.optimize(..., executor=SparkExecutor())``) as a Spark task
    inference.py    make_predict_fn: a saved model in ``pyspark.ml.functions.predict_batch_udf``
    distributor.py  SparkDistributor: data-parallel training on barrier tasks, with
                    ``minigrad.distributed`` on the 'spark' backend
                    (``minigrad/distributed/spark_backend.py``)
    _session.py     local_session: a local[n] SparkSession set up for one machine

``import minigrad.spark`` imports no pyspark; each helper imports it when used (a clear
ImportError naming the extra where it is missing).
"""

from .distributor import SparkDistributor
from ._session import local_session
from .executor import SparkExecutor, SparkTaskError
from .inference import make_predict_fn

__all__ = ["SparkExecutor", "SparkTaskError", "make_predict_fn", "SparkDistributor",
           "local_session"]
