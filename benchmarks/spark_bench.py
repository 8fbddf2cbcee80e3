"""minigrad on Spark (local[2]): the targets of the Spark issue.

    python benchmarks/spark_bench.py --out benchmarks/results/spark.json

needs pyspark with pandas and pyarrow (``minigrad[spark]``), Java 17+, the MNIST IDX files
(``MINIGRAD_DATA``, else ``../shared/data/mnist``), and for the MPI side mpi4py and mpiexec.
Every process runs NumPy on one BLAS thread (OPENBLAS_NUM_THREADS=1, as Spark gives each task
one core), so the serial and the Spark runs compute alike and two tasks share the two cores.

- tuning: 16 trials of a TPE study (seed 0) tuning the learning rate and hidden width of an
  MNIST MLP (2 epochs on 8,000 images, accuracy on 2,000 others, from the test file),
  serially (batch size 2) and with ``SparkExecutor`` on local[2]: the trials (numbers, states,
  values, params) and the best must be identical; wall times of both;
- inference: an MLP 784-128-64-10 trained 1 epoch on 10,000 training images, saved with
  ``minigrad.save``; the 10,000 test images as a DataFrame (array<float> rows) scored through
  ``predict_batch_udf(make_predict_fn(...))``: max |difference| from ``training.predict`` and rows
  per second (the first run, which starts the Python workers and loads the model, and the median
  of the later ones), next to local ``predict``'s rows per second;
- ddp: ``SparkDistributor(2)`` runs benchmarks/distributed_bench.py's equivalence (the MLP
  784-512-256-10, 535,818 parameters, SGD-momentum, DistributedSampler) for 30 steps of a
  global batch of 32; rank 0's largest parameter difference from one process on the global
  batches;
- averaging: on both backends, 2 processes, the same code: ``DDP.average_gradients`` of the
  MLP's gradients (one bucket), a bare ``all_reduce`` of a float32 buffer of the same size, and
  an empty ``barrier``, each after a barrier, medians; plus distributed_bench.py's training-step
  throughput (per-rank batch 128); on Spark also the time to encode and decode the buffer
  (the backend's own share of the cost).

The machine is shared with other jobs: times are noisy (medians; the runs are not interleaved,
since a Spark session and an mpiexec job do not share the two cores well).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from benchmarks import distributed_bench  # noqa: E402


# --- tuning ---------------------------------------------------------------------------------

def _tune_data():
    """8,000 training and 2,000 validation images, from MNIST's test file (the smaller one:
    each trial reads it again, in whichever process runs it)."""
    from minigrad.data import load_mnist
    x, y = load_mnist(distributed_bench._mnist_dir(), train=False, normalize=True)
    return x[:8000].reshape(8000, -1), y[:8000], x[8000:].reshape(2000, -1), y[8000:]


def mnist_objective(trial) -> float:
    """Validation accuracy of an MLP after two epochs, for the trial's lr and hidden width."""
    import minigrad as mg
    from minigrad import models, nn, optim
    from minigrad.data import DataLoader, TensorDataset
    from minigrad.training import fit, predict
    lr = trial.suggest_float("lr", 1e-3, 0.5, log=True)
    hidden = trial.suggest_int("hidden", 16, 256, log=True)
    x, y, x_val, y_val = _tune_data()
    mg.manual_seed(trial.number)
    model = models.mlp(784, [hidden], 10)
    fit(model, DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True), nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=lr, momentum=0.9), 2, progress=False)
    return float((predict(model, x_val).numpy().argmax(1) == y_val).mean())


def tuning(spark, trials=16):
    from minigrad import tune

    def run(executor, batch_size):
        study = tune.Study("maximize", sampler=tune.TPESampler(seed=0))
        start = time.perf_counter()
        study.optimize(mnist_objective, trials, executor=executor, batch_size=batch_size)
        return study, time.perf_counter() - start

    def record(study):
        return [(t.number, t.state, t.value, t.params) for t in study.trials]

    with tune.SparkExecutor(spark) as executor:
        on_spark, spark_s = run(executor, None)        # batch size: the parallelism, 2
    serial, serial_s = run(None, 2)
    return {"trials": trials, "identical_trials": record(serial) == record(on_spark),
            "best_serial": [serial.best_trial.number, serial.best_value, serial.best_params],
            "best_spark": [on_spark.best_trial.number, on_spark.best_value,
                           on_spark.best_params],
            "serial_s": serial_s, "spark_s": spark_s}


# --- inference ------------------------------------------------------------------------------

def build_mlp():
    from minigrad import models
    return models.mlp(784, [128, 64], 10)


def inference(spark, folder, repeats=4):
    import minigrad as mg
    import pandas as pd
    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql.types import ArrayType, FloatType

    from minigrad import nn, optim
    from minigrad.data import DataLoader, TensorDataset, load_mnist
    from minigrad.spark import make_predict_fn
    from minigrad.training import fit, predict

    x, y = load_mnist(distributed_bench._mnist_dir(), train=True, normalize=True)
    mg.manual_seed(0)
    model = build_mlp()
    fit(model, DataLoader(TensorDataset(x[:10000].reshape(10000, -1), y[:10000]), batch_size=64,
                          shuffle=True), nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.05, momentum=0.9), 1, progress=False)
    weights = os.path.join(folder, "mlp.npz")
    mg.save(model.state_dict(), weights)
    x_test, y_test = load_mnist(distributed_bench._mnist_dir(), train=False, normalize=True)
    x_test = x_test.reshape(len(x_test), -1)
    local_times = []
    for _ in range(repeats):
        start = time.perf_counter()
        local = predict(model, x_test, batch_size=1024).numpy()
        local_times.append(time.perf_counter() - start)
    df = spark.createDataFrame(pd.DataFrame({"id": np.arange(len(x_test)),
                                             "pixels": list(x_test)}),
                               "id long, pixels array<float>").cache()
    df.count()                              # the rows in Spark's memory: time the scoring only
    logits = predict_batch_udf(make_predict_fn(build_mlp, weights=weights),
                               return_type=ArrayType(FloatType()), batch_size=1024,
                               input_tensor_shapes=[[784]])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        rows = df.select("id", logits("pixels").alias("logits")).collect()
        times.append(time.perf_counter() - start)
    scored = np.array([r.logits for r in sorted(rows, key=lambda r: r.id)], dtype=np.float32)
    df.unpersist()
    n = len(x_test)
    return {"rows": n, "partitions": df.rdd.getNumPartitions(),
            "max_abs_diff": float(np.abs(scored - local).max()),
            "accuracy": float((scored.argmax(1) == y_test).mean()),
            "first_run_rows_per_s": n / times[0],
            "rows_per_s": n / statistics.median(times[1:]),
            "local_predict_rows_per_s": n / statistics.median(local_times)}


# --- data parallelism -----------------------------------------------------------------------

def ddp_equivalence(steps, global_batch):
    """On every rank of the initialized group: distributed_bench's equivalence run."""
    from minigrad import distributed
    start = time.perf_counter()
    diff = distributed_bench.equivalence(distributed.default_group(), steps, global_batch)
    return {"steps": steps, "global_batch": global_batch, "max_abs_diff": diff,
            "seconds": time.perf_counter() - start}


def averaging_cost(repeats, throughput_steps, codec=False):
    """On every rank: medians of average_gradients, a bare all_reduce of the same size and an
    empty barrier, each after a barrier; distributed_bench's throughput; rank 0's report."""
    import minigrad as mg
    from minigrad import distributed as dist
    from minigrad import nn

    group = dist.default_group()
    ddp = nn.parallel.DistributedDataParallel(distributed_bench._mlp())
    for p in ddp.parameters():
        p.grad = mg.randn(*p.shape)
    n = sum(p.data.size for p in ddp.parameters())
    flat = mg.tensor(np.random.default_rng(0).standard_normal(n).astype(np.float32))
    actions = {"average_gradients_s": ddp.average_gradients,
               "bare_all_reduce_s": lambda: dist.all_reduce(flat),
               "barrier_s": dist.barrier}
    times = {name: [] for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            dist.barrier()
            start = time.perf_counter()
            action()
            times[name].append(time.perf_counter() - start)
    report = {"backend": group.backend, "processes": group.world_size, "repeats": repeats,
              "gradient_elements": n, **{k: statistics.median(v) for k, v in times.items()}}
    report["samples_per_s"] = distributed_bench.throughput(group, steps=throughput_steps)
    report["throughput_steps"] = throughput_steps
    if codec:
        from minigrad.distributed.spark_backend import decode_array, encode_array
        spent = []
        for _ in range(10):
            start = time.perf_counter()
            decode_array(encode_array(flat.data, {"call": 0, "op": "all_reduce"}))
            spent.append(time.perf_counter() - start)
        report["encode_decode_s"] = statistics.median(spent)
    return report if group.rank == 0 else None


def mpi_worker() -> None:
    from minigrad import distributed as dist
    group = dist.init_process_group("mpi")
    report = averaging_cost(repeats=50, throughput_steps=30)
    equivalence = ddp_equivalence(30, 32)
    if group.rank == 0:
        report["ddp"] = equivalence
        print("REPORT " + json.dumps(report), flush=True)
    dist.destroy_process_group()


def mpi_side():
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(["mpiexec", "-n", "2", sys.executable, os.path.abspath(__file__),
                           "--mpi-worker"], capture_output=True, text=True, env=env,
                          timeout=900)
    line = next((x for x in done.stdout.splitlines() if x.startswith("REPORT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"the MPI side failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(line[len("REPORT "):])


# --- the run --------------------------------------------------------------------------------

def _session():
    from pyspark import cloudpickle

    from minigrad.spark import local_session
    # distributed_bench's functions travel by value: the executors need not import benchmarks/
    cloudpickle.register_pickle_by_value(distributed_bench)
    return local_session(2, "minigrad spark_bench")


def _print(results) -> None:
    t, i, d = results["tuning"], results["inference"], results["ddp_spark"]
    print(f"tuning, {t['trials']} TPE trials (seed 0) on local[2]: identical trials and best: "
          f"{t['identical_trials'] and t['best_serial'] == t['best_spark']}; best "
          f"#{t['best_spark'][0]} accuracy {t['best_spark'][1]:.3f} {t['best_spark'][2]}; "
          f"serial {t['serial_s']:.1f} s, SparkExecutor {t['spark_s']:.1f} s")
    print(f"inference, {i['rows']:,} MNIST test rows in {i['partitions']} partitions through "
          f"predict_batch_udf: max |diff| vs predict {i['max_abs_diff']:.2e}, accuracy "
          f"{i['accuracy']:.4f}; {i['rows_per_s']:,.0f} rows/s (first run "
          f"{i['first_run_rows_per_s']:,.0f}; local predict {i['local_predict_rows_per_s']:,.0f})")
    print(f"SparkDistributor(2): {d['steps']} steps, global batch {d['global_batch']}: max |Δw| "
          f"vs one process {d['max_abs_diff']:.2e} ({d['seconds']:.1f} s)")
    mpi = results.get("averaging_mpi")
    print(f"{'2 processes':<12} {'avg grads':>10} {'all_reduce':>11} {'barrier':>9} "
          f"{'samples/s':>10}")
    for name in ("averaging_spark", "averaging_mpi"):
        r = results.get(name)
        if r is not None:
            print(f"{r['backend']:<12} {r['average_gradients_s'] * 1e3:>8.2f}ms "
                  f"{r['bare_all_reduce_s'] * 1e3:>9.2f}ms {r['barrier_s'] * 1e3:>7.2f}ms "
                  f"{r['samples_per_s']:>10.0f}")
    s = results["averaging_spark"]
    print(f"spark backend's encode+decode of the {s['gradient_elements']:,} floats: "
          f"{s['encode_decode_s'] * 1e3:.1f} ms")
    if mpi is not None:
        ratio = s["average_gradients_s"] / mpi["average_gradients_s"]
        print(f"averaging the gradients: Spark {ratio:.0f}x MPI; MPI's DDP run: max |Δw| "
              f"{mpi['ddp']['max_abs_diff']:.2e}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--skip-mpi", action="store_true", help="the Spark side only")
    args = parser.parse_args(argv)
    if distributed_bench._mnist_dir() is None:
        print("needs the MNIST IDX files: set MINIGRAD_DATA")
        return 1
    from minigrad.spark import SparkDistributor
    spark = _session()
    results = {"cores": os.cpu_count(), "master": spark.sparkContext.master}
    try:
        results["tuning"] = tuning(spark)
        with tempfile.TemporaryDirectory() as folder:
            results["inference"] = inference(spark, folder)
        distributor = SparkDistributor(2, spark=spark)
        results["ddp_spark"] = distributor.run(ddp_equivalence, 30, 32)
        results["averaging_spark"] = distributor.run(averaging_cost, 5, 5, codec=True)
    finally:
        spark.stop()
    if not args.skip_mpi:
        results["averaging_mpi"] = mpi_side()
    _print(results)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    if "--mpi-worker" in sys.argv:
        mpi_worker()
    else:
        sys.exit(main())
