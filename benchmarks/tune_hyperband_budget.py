"""How many epochs Hyperband can save at the settings of benchmarks/tune_mnist_hyperband.py
(R = 8 epochs, r_min = 1, η = 3, 24 trials in batches of 2), without training anything.

    python benchmarks/tune_hyperband_budget.py --json benchmarks/results/tune_hyperband_budget.json

Three numbers, each as a fraction of the epochs of the same trials trained to R:

1. Li et al. 2017, Algorithm 1 (synchronous Hyperband): bracket s = s_max..0 starts
   n_s = ⌈(s_max + 1) η^s / (s + 1)⌉ configurations at r_s = R η^(−s) and keeps ⌊n_i / η⌋ at
   each of its s rounds; the epochs of one pass over the brackets over R · Σ n_s.
2. minigrad's Hyperband (Optuna's asynchronous form) if every promotion decision saw the whole
   bracket (the ideal): bracket b has rungs r_k = r_min η^(b + k) < R and trials enter it in
   the proportions n_b; a fraction η^(−k) of its trials passes rung k − 1, so a trial of
   bracket b costs Σ_k η^(−k) (r_k − r_(k−1)) epochs in expectation (r_(−1) = 0, the last
   segment ending at R).
3. The same pruner as it runs (``minigrad.tune.Hyperband`` in a ``Study`` with batches of 2),
   on synthetic learning curves v_j(t) = q_j (1 − ½ e^(−t/2)) whose order is the order of
   q_j ~ U(0, 1): "exchangeable" (a random sampler: q_j independent of j) and "improving"
   (q_j = (u_j + j/n)/2, a sampler that finds better configurations as it goes). Each study
   is run for --studies seeds; mean, median and range of the epoch fraction are reported.
   The excess over (2) is the asynchronous form's: a trial at a rung competes only with the
   trials of earlier batches that reached it, and with fewer than η of them the best goes
   on (Optuna's rule, where ASHA would wait).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def li_synchronous_fraction(max_resource: int, eta: int) -> float:
    """Epochs of Li et al.'s Algorithm 1 (one pass) over those of its configurations at R."""
    s_max = math.floor(math.log(max_resource) / math.log(eta) + 1e-9)
    epochs = configs = 0
    for s in range(s_max, -1, -1):
        n = math.ceil((s_max + 1) * eta ** s / (s + 1))
        configs += n
        for i in range(s + 1):
            n_i = n // eta ** i
            epochs += n_i * max_resource * eta ** (i - s)
    return epochs / (configs * max_resource)


def ideal_fraction(min_resource: int, max_resource: int, eta: int) -> float:
    """The expected epochs of a trial of minigrad's Hyperband with whole-bracket promotions."""
    from minigrad import tune

    hb = tune.Hyperband(min_resource, max_resource, eta)
    shares = [hb.cycle.count(b) for b in range(hb.n_brackets)]
    cost = []
    for b, bracket in enumerate(hb.brackets):
        rungs = [r for k in range(64) if (r := bracket.rung_resource(k)) < max_resource]
        ends = rungs + [max_resource]
        starts = [0] + rungs
        cost.append(sum(eta ** -k * (end - start)
                        for k, (start, end) in enumerate(zip(starts, ends))))
    return sum(n * c for n, c in zip(shares, cost)) / (sum(shares) * max_resource)


def simulated_fractions(min_resource, max_resource, eta, trials, batch, studies, order):
    import numpy as np

    from minigrad import tune

    fractions = []
    for seed in range(studies):
        rng = np.random.default_rng(seed)
        u = rng.random(trials)
        quality = u if order == "exchangeable" else 0.5 * (u + np.arange(trials) / trials)

        def objective(trial, quality=quality):
            q = float(quality[trial.number])
            for step in range(1, max_resource + 1):
                trial.report(q * (1.0 - 0.5 * math.exp(-step / 2.0)), step)
                if step < max_resource and trial.should_prune():
                    raise tune.TrialPruned()
            return q

        study = tune.Study("maximize", sampler=tune.RandomSampler(seed=seed),
                           pruner=tune.Hyperband(min_resource, max_resource, eta))
        study.optimize(objective, trials, batch_size=batch)
        epochs = sum(len(t.intermediate_values) for t in study.trials)
        fractions.append(epochs / (trials * max_resource))
    return {"mean": statistics.mean(fractions), "median": statistics.median(fractions),
            "min": min(fractions), "max": max(fractions), "studies": studies}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-resource", type=int, default=1)
    parser.add_argument("--max-resource", type=int, default=8)
    parser.add_argument("--eta", type=int, default=3)
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    r_min, R, eta = args.min_resource, args.max_resource, args.eta
    results = {"li_synchronous": li_synchronous_fraction(R // r_min, eta),
               "ideal_whole_bracket": ideal_fraction(r_min, R, eta)}
    for order in ("exchangeable", "improving"):
        for batch in sorted({1, args.batch}):
            results[f"simulated_{order}_batch{batch}"] = simulated_fractions(
                r_min, R, eta, args.trials, batch, args.studies, order)
    print(f"Hyperband(min_resource={r_min}, max_resource={R}, reduction_factor={eta}), "
          f"{args.trials} trials: epochs as a fraction of {args.trials} full-length trials")
    print(f"  Li et al. Algorithm 1 (synchronous), one pass      {results['li_synchronous']:.3f}")
    print(f"  minigrad/Optuna brackets, whole-bracket promotion  "
          f"{results['ideal_whole_bracket']:.3f}")
    for key, r in results.items():
        if key.startswith("simulated"):
            print(f"  {key:<36} mean {r['mean']:.3f}  median {r['median']:.3f}  "
                  f"range {r['min']:.3f}-{r['max']:.3f} ({r['studies']} studies)")
    if args.json:
        from minigrad.files import atomic_write_text
        doc = {"command": "python benchmarks/tune_hyperband_budget.py " +
                          " ".join(argv if argv is not None else sys.argv[1:]),
               "settings": vars(args), "results": results}
        atomic_write_text(args.json, json.dumps(doc, indent=1) + "\n", "tune_hyperband_budget")


if __name__ == "__main__":
    main()
