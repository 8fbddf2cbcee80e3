"""Hyper-parameter search with its trials on Spark: ``minigrad.tune.SparkExecutor`` runs each
trial as a Spark task (as hyperopt's SparkTrials does), and the study is the one a serial run
gives for the same seed.

    python examples/spark_tuning.py                # 16 TPE trials on local[2], then serially
    python examples/spark_tuning.py --quick        # 4 trials (for the tests)

The objective is one ``python -m minigrad train`` run per trial (``TrainingObjective``: an MLP
on the spirals set, the learning rate, dropout and batch size drawn by the sampler, the
validation accuracy returned). The study proposes each batch of ``parallelism`` trials on the
driver from the same snapshot of finished trials, the executor runs them on Spark, and so the
trials, in number, parameters and values, equal a serial study's with the same batch size. The
script runs both and says whether they agree, with the wall time of each (each trial here
lasts a fraction of a second, so Spark's start-up per task shows; trials of minutes hide it).
"""

from __future__ import annotations

import argparse
import time

from _common import print_table   # noqa: I001 (puts this checkout's minigrad on sys.path)
from minigrad import tune
from minigrad.tune.training_objective import TrainingObjective


def study_of(objective, trials, executor, batch_size):
    study = tune.Study("maximize", sampler=tune.TPESampler(seed=0, n_startup_trials=4))
    start = time.perf_counter()
    study.optimize(objective, trials, executor=executor, batch_size=batch_size)
    return study, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=16, help="trials (16)")
    parser.add_argument("--quick", action="store_true", help="4 trials of 5 epochs")
    args = parser.parse_args(argv)
    trials, epochs = (4, 5) if args.quick else (args.trials, 30)
    space = {"lr": tune.LogUniform(1e-3, 1e-1), "dropout": tune.Uniform(0.0, 0.3),
             "batch_size": tune.Choice([16, 32, 64])}
    objective = TrainingObjective({"data": "spirals", "samples": 600, "epochs": epochs,
                                   "hidden": [32, 32], "val_fraction": 0.25}, space)
    from minigrad.spark import local_session

    spark = local_session(2, "minigrad tuning on Spark")
    with tune.SparkExecutor(spark) as executor:
        on_spark, spark_s = study_of(objective, trials, executor, None)   # batch: parallelism
        parallelism = executor.parallelism
    spark.stop()
    serial, serial_s = study_of(objective, trials, None, parallelism)

    print(f"spirals MLP 2-32-32-3, {epochs} epochs a trial, {trials} TPE trials (seed 0), "
          f"batches of {parallelism}")
    print_table(["trial", "state", "val acc", "lr", "dropout", "batch"],
                [[t.number, t.state, t.value, f"{t.params['lr']:.3g}",
                  f"{t.params['dropout']:.2f}", str(t.params["batch_size"])]
                 for t in on_spark.trials], ["d", "", ".4f", "", "", ""])
    same = [(t.number, t.state, t.value, t.params) for t in serial.trials] == \
        [(t.number, t.state, t.value, t.params) for t in on_spark.trials]
    best = on_spark.best_trial
    print(f"best: trial {best.number}, val acc {best.value:.4f}; the serial study's trials are "
          f"the same: {same}, best the same: {serial.best_trial.number == best.number}")
    print(f"SparkExecutor on local[2] {spark_s:.1f} s, serial {serial_s:.1f} s")


if __name__ == "__main__":
    main()
