"""minigrad on Spark (minigrad.spark, the 'spark' backend of minigrad.distributed).

The wire format of the spark backend and the argument checks run everywhere; the rest needs
pyspark and Java (the ``minigrad[spark]`` extra) and is skipped with the reason otherwise. One
local[2] SparkSession serves the whole module. Every collective of the spark backend waits
about a second in Spark's BarrierTaskContext, so the barrier-task tests keep their collectives
few.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import shutil
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn, optim, tune
from minigrad.distributed.spark_backend import BarrierCommunicator, decode_array, encode_array
from minigrad.tune.functions import branin_objective

# --- the wire format (no Spark needed) -----------------------------------------------------

DTYPES = ["float32", "float64", "int64", "int32", "uint8", "bool", "complex64", ">f8"]


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(0, 4), min_size=0, max_size=3),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2 ** 16))
def test_arrays_travel_exactly(shape, dtype, seed):
    array = (np.random.default_rng(seed).standard_normal(shape) * 50).astype(dtype)
    head, back = decode_array(encode_array(array, {"call": 3, "op": "all_reduce"}))
    assert head["call"] == 3 and head["op"] == "all_reduce"
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_malformed_messages_are_refused():
    good = encode_array(np.arange(6, dtype=np.float32).reshape(2, 3), {"call": 1, "op": "x"})
    head, body = good.split("\n")
    with pytest.raises(TypeError, match="only numeric and bool"):
        encode_array(np.array(["a", "b"], dtype=object), {})
    with pytest.raises(TypeError, match="refused a message of dtype object"):
        decode_array(json.dumps(dict(json.loads(head), dtype="|O")) + "\n" + body)
    with pytest.raises(ValueError, match="bytes for shape"):
        decode_array(json.dumps(dict(json.loads(head), shape=[4, 3])) + "\n" + body)
    with pytest.raises(ValueError, match="not an encoded array"):
        decode_array("not json\n" + body)
    with pytest.raises(ValueError, match="without data"):
        decode_array(head)


class _TwoRanks:
    """A stand-in barrier context for rank 0 of 2, whose rank 1 sends the given messages."""

    def __init__(self, rank1_messages):
        self.rank1 = list(rank1_messages)

    def partitionId(self):
        return 0

    def getTaskInfos(self):
        return [None, None]

    def allGather(self, message):
        return [message, self.rank1.pop(0)]


def test_the_communicator_combines_in_rank_order_and_catches_mismatched_calls():
    other = np.array([1.0, -5.0, 2.0])
    comm = BarrierCommunicator(context=_TwoRanks(
        [encode_array(other, {"call": 1, "op": "all_reduce"}),
         encode_array(other, {"call": 2, "op": "broadcast"})]))
    mine = np.array([3.0, 4.0, -1.0])
    comm.Allreduce(comm.MPI.IN_PLACE, mine, op=comm.MPI.MAX)
    np.testing.assert_array_equal(mine, [3.0, 4.0, 2.0])
    with pytest.raises(RuntimeError, match=r"all_reduce \(collective #2\) while rank 1 is in "
                                           r"broadcast"):
        comm.Allreduce(comm.MPI.IN_PLACE, mine, op=comm.MPI.SUM)
    with pytest.raises(ValueError, match="timeout is not supported"):
        BarrierCommunicator(timeout=5.0, context=_TwoRanks([]))
    with pytest.raises(NotImplementedError, match="no sub-groups"):
        comm.Split(0, 0)


def _model():
    mg.manual_seed(0)
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 5))


def test_the_predict_fn_equals_predict_without_spark(tmp_path):
    from minigrad.spark import make_predict_fn
    from minigrad.training import predict
    model = _model()
    mg.save(model.state_dict(), tmp_path / "w.npz")
    x = np.random.default_rng(0).standard_normal((70, 20))            # float64 rows
    batch_fn = make_predict_fn(_model, weights=tmp_path / "w.npz", batch_size=32)()
    out = batch_fn(x)
    assert out.dtype == np.float32 and out.shape == (70, 5)
    np.testing.assert_array_equal(out, predict(model, x.astype(np.float32)).numpy())
    with pytest.raises(ValueError, match="needs weights="):
        make_predict_fn(_model)
    with pytest.raises(ValueError, match="needs input_shape= and num_classes="):
        make_predict_fn(tmp_path / "model.npz")
    with pytest.raises(TypeError, match="builder"):
        make_predict_fn(42)
    with pytest.raises(FileNotFoundError, match="not on this executor"):
        make_predict_fn(_model, weights=tmp_path / "missing.npz")()


def test_local_masters_and_spark_errors_are_read():
    from minigrad.spark._session import local_slots, python_error
    assert [local_slots(m) for m in ("local", "local[4]", "local[3, 2]", "spark://host:7077",
                                     "yarn")] == [1, 4, 3, None, None]
    assert local_slots("local[*]") == os.cpu_count()
    java = ("An error occurred: org.apache.spark.SparkException: Job aborted\n"
            "Traceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 'a'\n"
            " SQLSTATE: 38000\n\tat org.apache.spark.api.python.PythonRunner")
    assert python_error(java) == ("Traceback (most recent call last):\n  File \"x.py\", "
                                  "line 1\nKeyError: 'a'")
    assert python_error("no traceback here ") == "no traceback here"


# --- on Spark ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("pyspark needs Java (17 or later), and java is not on PATH")
    from pyspark import cloudpickle

    from minigrad.spark import local_session
    # this module's functions travel by value (the executors cannot import the test module)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    session = local_session(2, "minigrad-tests")
    yield session
    session.stop()


def _study_record(executor, batch_size=None):
    study = tune.Study(sampler=tune.TPESampler(seed=3))
    study.optimize(branin_objective, 8, executor=executor,
                   batch_size=batch_size)
    return ([(t.number, t.state, t.value, t.params) for t in study.trials],
            study.best_trial.number, study.best_value)


def test_the_executor_gives_the_serial_study(spark):
    with tune.SparkExecutor(spark) as executor:
        assert executor.parallelism == 2
        on_spark = _study_record(executor)        # batch size: the executor's parallelism
    assert on_spark == _study_record(None, batch_size=2)
    assert len(on_spark[0]) == 8


def _fragile(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    if trial.number == 1:
        raise ValueError(f"trial one refuses x={x:.3f}")
    return float("nan") if trial.number == 2 else x


def _raise_key_error(key):
    raise KeyError(key)


def _crash_the_worker():
    os._exit(3)


def test_failures_are_recorded_and_raised_as_the_pools_do(spark):
    study = tune.Study(sampler=tune.RandomSampler(seed=0))
    with tune.SparkExecutor(spark) as executor:
        study.optimize(_fragile, 4, executor=executor)
        raised = executor.submit(_raise_key_error, "missing").exception()
        crashed = executor.submit(_crash_the_worker).exception()
    states = [t.state for t in study.trials]
    assert states == ["complete", "failed", "failed", "complete"]
    assert study.trials[1].error.startswith("ValueError: trial one refuses x=")
    assert "NaN" in study.trials[2].error or "nan" in study.trials[2].error
    assert isinstance(raised, KeyError) and raised.args == ("missing",)
    assert "_raise_key_error" in str(raised.__cause__)          # the remote traceback
    from minigrad.spark import SparkTaskError
    assert isinstance(crashed, SparkTaskError) and "_crash_the_worker" in str(crashed)


def _wait_for_job(context, group, timeout=30.0):
    tracker = context.statusTracker()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for job in tracker.getJobIdsForGroup(group):
            info = tracker.getJobInfo(job)
            if info is not None and info.status == "RUNNING":
                return job
        time.sleep(0.05)
    raise AssertionError(f"no running job in group {group}")


def test_shutdown_with_cancel_futures_cancels_the_spark_jobs(spark):
    context = spark.sparkContext
    executor = tune.SparkExecutor(spark, parallelism=1)
    running = executor.submit(time.sleep, 60)
    waiting = executor.submit(time.sleep, 60)
    job = _wait_for_job(context, running.spark_job_group)
    start = time.monotonic()
    executor.shutdown(wait=True, cancel_futures=True)
    assert time.monotonic() - start < 20
    assert waiting.cancelled()
    assert isinstance(running.exception(), cf.CancelledError)
    assert context.statusTracker().getJobInfo(job).status == "FAILED"
    with pytest.raises(RuntimeError, match="after shutdown"):
        executor.submit(time.sleep, 0)


def _slow_after_the_first(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    if trial.number > 0:
        time.sleep(60)
    return x


def test_an_interrupted_study_cancels_its_running_trials(spark):
    class Stop(Exception):
        pass

    def stop(study, trial):
        raise Stop(trial.number)

    study = tune.Study(sampler=tune.RandomSampler(seed=0))
    start = time.monotonic()
    with pytest.raises(Stop), tune.SparkExecutor(spark) as executor:
        study.optimize(_slow_after_the_first, 4, executor=executor, callbacks=[stop])
    assert time.monotonic() - start < 30          # trial 1's minute of sleep was cancelled
    assert [t.number for t in study.trials] == [0]
    assert spark.sparkContext.statusTracker().getActiveJobsIds() == []


def test_predict_batch_udf_scores_as_predict_and_loads_once_per_worker(spark, tmp_path):
    pytest.importorskip("pandas", reason="predict_batch_udf needs pandas (pyspark[sql])")
    pytest.importorskip("pyarrow", reason="predict_batch_udf needs pyarrow (pyspark[sql])")
    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql.types import ArrayType, FloatType

    from minigrad.spark import make_predict_fn
    from minigrad.training import predict

    model = _model()
    mg.save(model.state_dict(), tmp_path / "w.npz")
    log = str(tmp_path / "loads.txt")

    def build():                       # records each load: the worker's process id
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
        return _model()

    x = np.random.default_rng(1).standard_normal((500, 20)).astype(np.float32)
    rows = spark.sparkContext.parallelize([(i, row.tolist()) for i, row in enumerate(x)], 4)
    df = spark.createDataFrame(rows, "id long, features array<float>")
    scores = predict_batch_udf(make_predict_fn(build, weights=str(tmp_path / "w.npz")),
                               return_type=ArrayType(FloatType()), batch_size=64,
                               input_tensor_shapes=[[20]])
    rows = df.select("id", scores("features").alias("out")).collect()
    out = np.array([r.out for r in sorted(rows, key=lambda r: r.id)], dtype=np.float32)
    assert np.abs(out - predict(model, x).numpy()).max() <= 1e-6
    with open(log) as f:
        loads = f.read().split()
    assert len(loads) == len(set(loads)) < 4        # once per Python worker, not per partition


def _collectives(seed):
    """Every collective on the spark backend, checked on each rank against NumPy; returns rank
    0's results."""
    from minigrad import distributed as dist
    r, n = dist.get_rank(), dist.get_world_size()
    assert dist.default_group().backend == "spark" and n == 2
    values = [np.random.default_rng(seed + k).standard_normal((3, 4)) for k in range(n)]
    t = mg.tensor(values[r].astype(np.float32))
    dist.all_reduce(t)
    np.testing.assert_array_equal(t.numpy(), values[0].astype(np.float32)
                                  + values[1].astype(np.float32))
    out = {"sum": t.numpy()}
    for op, fn in ((dist.ReduceOp.MAX, np.max), (dist.ReduceOp.AVG, np.mean)):
        t = mg.tensor(values[r])
        dist.all_reduce(t, op)
        np.testing.assert_allclose(t.numpy(), fn(np.stack(values), axis=0), rtol=1e-15)
        out[op] = t.numpy()
    t = mg.tensor(np.full(3, r, dtype=np.int64))
    dist.broadcast(t, src=1)
    np.testing.assert_array_equal(t.numpy(), [1, 1, 1])
    t = mg.tensor(np.full(2, r + 1.0, dtype=np.float32))
    dist.reduce(t, dst=0)
    np.testing.assert_array_equal(t.numpy(), [3.0, 3.0] if r == 0 else [2.0, 2.0])
    parts = [mg.zeros(2, 2) for _ in range(n)]
    dist.all_gather(parts, mg.full((2, 2), float(r)))
    for k, part in enumerate(parts):
        np.testing.assert_array_equal(part.numpy(), np.full((2, 2), k))
    rows = dist.gather_rows(np.full((r + 1, 2), r, dtype=np.int32))
    np.testing.assert_array_equal(rows, [[0, 0], [1, 1], [1, 1]])
    dist.barrier()
    return out


def test_spark_backend_collectives_equal_numpy(spark):
    from minigrad.spark import SparkDistributor
    out = SparkDistributor(2, spark=spark).run(_collectives, 7)
    values = [np.random.default_rng(7 + k).standard_normal((3, 4)) for k in range(2)]
    np.testing.assert_array_equal(out["max"], np.maximum(*values))
    np.testing.assert_allclose(out["avg"], (values[0] + values[1]) / 2, rtol=1e-15)


def _out_of_step():
    from minigrad import distributed as dist
    t = mg.zeros(3)
    (dist.all_reduce if dist.get_rank() == 0 else dist.broadcast)(t)


def test_a_rank_out_of_step_fails_the_run_with_a_clear_error(spark):
    from minigrad.spark import SparkDistributor
    with pytest.raises(RuntimeError, match="every rank must call the same collectives"):
        SparkDistributor(2, spark=spark).run(_out_of_step)
    with pytest.raises(ValueError, match="need as many task slots"):
        SparkDistributor(3, spark=spark).run(_out_of_step)


def _data():
    rng = np.random.default_rng(2)
    return rng.standard_normal((48, 20)).astype(np.float32), rng.integers(0, 5, 48)


def _fit_ddp(folder):
    """One epoch of fit on DDP, each rank on its DistributedSampler share (batches of 8 per
    rank: global batches of 16), a checkpoint written by rank 0 alone."""
    from minigrad import distributed as dist
    from minigrad.data import DataLoader, DistributedSampler, TensorDataset
    from minigrad.training import ModelCheckpoint, fit
    r = dist.get_rank()
    os.makedirs(os.path.join(folder, f"rank{r}"))
    x, y = _data()
    data = TensorDataset(x, y)
    ddp = nn.parallel.DistributedDataParallel(_model())
    history = fit(ddp, DataLoader(data, batch_size=8, sampler=DistributedSampler(
        data, shuffle=False)), nn.CrossEntropyLoss(),
        optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9), 1, metrics=["accuracy"],
        progress=False, callbacks=[ModelCheckpoint(os.path.join(folder, f"rank{r}",
                                                                "ckpt.npz"))])
    return {k: v.numpy() for k, v in ddp.module.state_dict().items()}, history.history


def test_ddp_on_two_barrier_tasks_equals_one_process(spark, tmp_path):
    """fit on two barrier tasks (DDP, DistributedSampler, ModelCheckpoint) ends with the
    weights, loss and accuracy of one process fitting the global batches."""
    from minigrad.data import DataLoader, TensorDataset
    from minigrad.spark import SparkDistributor
    from minigrad.training import fit
    weights, history = SparkDistributor(2, spark=spark).run(_fit_ddp, str(tmp_path))
    x, y = _data()
    model = _model()
    # DistributedSampler without shuffling interleaves: rank r holds samples r, r+2, ...;
    # global batch s is rank 0's batch s then rank 1's
    shares = [np.arange(48)[r::2].reshape(3, 8) for r in range(2)]
    order = np.concatenate(shares, axis=1).ravel()
    reference = fit(model, DataLoader(TensorDataset(x[order], y[order]), batch_size=16),
                    nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                    1, metrics=["accuracy"], progress=False)
    for key, value in model.state_dict().items():
        assert np.abs(weights[key] - value.numpy()).max() <= 1e-5, key
    np.testing.assert_allclose(history["loss"], reference.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(history["accuracy"], reference.history["accuracy"])
    assert (tmp_path / "rank0" / "ckpt.npz").exists()
    assert os.listdir(tmp_path / "rank1") == []
