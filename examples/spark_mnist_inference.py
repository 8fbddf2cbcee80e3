"""Scoring a Spark DataFrame of MNIST images with a saved minigrad model, through Spark's own
``pyspark.ml.functions.predict_batch_udf`` and ``minigrad.spark.make_predict_fn``.

An MLP (784-128-64-10) is trained for one epoch on 10,000 training images and saved with
``minigrad.save(model.state_dict(), path)``; the test images become a DataFrame of
``array<float>`` rows (784 pixels each); ``predict_batch_udf`` scores it. On each executor's
Python worker, the function ``make_predict_fn`` returns builds the MLP and reads the weights
file once (nothing pickled but the builder and the path), then maps each batch of rows (a NumPy
array of shape (batch, 784)) to its logits with ``minigrad.training.predict``. The script checks
the logits against ``predict`` on the same rows in this process, and prints the accuracy and
the rows per second of both.

    python examples/spark_mnist_inference.py --data-dir DIR      # 10,000 rows on local[2]
    python examples/spark_mnist_inference.py --quick             # 2,000 rows (for the tests)

Spark runs each task's NumPy on one BLAS thread (it sets OMP_NUM_THREADS to the task's cores),
and so does this script (OPENBLAS_NUM_THREADS=1 unless set): OpenBLAS's float32 products on
two threads round differently (here the driver's logits then differed from the workers' by up
to 2.9e-6, a few float32 rounding steps), so equal outputs need equal BLAS threads.

On a cluster, the same code runs under ``spark-submit`` with ``minigrad[spark]`` installed on
the executors and the weights on a file system they read (or shipped with
``spark.sparkContext.addFile``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # as Spark's Python workers (see above)

import numpy as np

from _common import add_data_dir_argument, load_mnist_or_exit, print_table
import minigrad as mg
from minigrad import models, nn, optim
from minigrad.data import DataLoader, TensorDataset
from minigrad.training import fit, predict


def build_mlp():
    """The architecture; the weights come from the file."""
    return models.mlp(784, [128, 64], 10)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_dir_argument(parser)
    parser.add_argument("--rows", type=int, default=10000, help="test rows to score (10000)")
    parser.add_argument("--batch-size", type=int, default=1024,
                        help="predict_batch_udf's batch size (1024)")
    parser.add_argument("--quick", action="store_true", help="2,000 rows, a smaller training")
    args = parser.parse_args(argv)
    import pandas as pd
    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql.types import ArrayType, FloatType

    from minigrad.spark import local_session, make_predict_fn

    x_train, y_train = load_mnist_or_exit(args.data_dir, train=True)
    x_test, y_test = load_mnist_or_exit(args.data_dir, train=False)
    n_train, rows = (2000, 2000) if args.quick else (10000, args.rows)
    x_test, y_test = x_test[:rows].reshape(rows, -1), y_test[:rows]
    mg.manual_seed(0)
    model = build_mlp()
    fit(model, DataLoader(TensorDataset(x_train[:n_train].reshape(n_train, -1),
                                        y_train[:n_train]), batch_size=64, shuffle=True),
        nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05, momentum=0.9), 1,
        progress=False)
    folder = tempfile.mkdtemp(prefix="spark-mnist-")
    weights = os.path.join(folder, "mlp.npz")
    mg.save(model.state_dict(), weights)

    start = time.perf_counter()
    local = predict(model, x_test, batch_size=args.batch_size).numpy()
    local_s = time.perf_counter() - start

    spark = local_session(2, "minigrad MNIST inference")
    df = spark.createDataFrame(pd.DataFrame({"id": np.arange(rows), "pixels": list(x_test)}),
                               "id long, pixels array<float>").cache()
    df.count()                                  # in Spark's memory: the timing is the scoring
    logits = predict_batch_udf(make_predict_fn(build_mlp, weights=weights),
                               return_type=ArrayType(FloatType()), batch_size=args.batch_size,
                               input_tensor_shapes=[[784]])
    scored_df = df.select("id", logits("pixels").alias("logits"))
    times = []
    for _ in range(2):                          # the first run also starts the workers
        start = time.perf_counter()
        collected = scored_df.collect()
        times.append(time.perf_counter() - start)
    scored = np.array([r.logits for r in sorted(collected, key=lambda r: r.id)],
                      dtype=np.float32)
    partitions = df.rdd.getNumPartitions()
    spark.stop()

    print(f"MLP 784-128-64-10, 1 epoch on {n_train:,} images; {rows:,} test rows in "
          f"{partitions} partitions on local[2]")
    print_table(["scoring", "accuracy", "max |diff| vs predict", "rows/s"],
                [["predict (this process)", float((local.argmax(1) == y_test).mean()), 0.0,
                  rows / local_s],
                 ["predict_batch_udf, first run", float((scored.argmax(1) == y_test).mean()),
                  float(np.abs(scored - local).max()), rows / times[0]],
                 ["predict_batch_udf, again", float((scored.argmax(1) == y_test).mean()),
                  float(np.abs(scored - local).max()), rows / times[1]]],
                ["", ".4f", ".2e", ",.0f"])


if __name__ == "__main__":
    main()
