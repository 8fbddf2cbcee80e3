"""Agreement of minigrad.data's data preparation with scikit-learn, for when scikit-learn
happens to be installed (it is never a dependency of minigrad or of its tests):

    python benchmarks/sklearn_check.py
    python benchmarks/sklearn_check.py --json benchmarks/results/sklearn_check.json

Each check fits minigrad's class and scikit-learn's on the same float64 data (seeded) and
compares the outputs: the largest absolute difference must be at most 1e-6. Prints one line
per check and exits 1 on a disagreement. Covers PCA (full and covariance_eigh solvers, whiten,
fractional n_components; transform, components_, explained_variance_ratio_, inverse_transform),
LinearDiscriminantAnalysis.transform, OneHotEncoder and OrdinalEncoder (strings and numbers),
FeatureHasher (dict, pair and string input), VarianceThreshold, SelectKBest with f_classif
(scores, p-values, support), f_regression, mutual_info_classif, RobustScaler and SMOTE's
nearest neighbours (against NearestNeighbors).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from minigrad import data  # noqa: E402

TOLERANCE = 1e-6


def _max_diff(ours, ref) -> float:
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if ours.shape != ref.shape:
        return float("inf")
    both_nan = np.isnan(ours) & np.isnan(ref)
    return float(np.where(both_nan, 0.0, np.abs(ours - ref)).max(initial=0.0))


def _equal(ours, ref) -> float:
    """0 when the arrays hold the same values (any dtype), else inf."""
    ours, ref = np.asarray(ours), np.asarray(ref)
    return 0.0 if ours.shape == ref.shape and (ours == ref).all() else float("inf")


def _matrix(n=300, f=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, f)) @ rng.standard_normal((f, f)) + rng.standard_normal(f)


def checks():
    """(name, max difference) for every comparison."""
    from sklearn import decomposition, discriminant_analysis, feature_extraction, \
        feature_selection, neighbors, preprocessing

    out = []
    x = _matrix()
    for solver in ("full", "covariance_eigh"):
        for k, whiten in ((5, False), (5, True), (None, False), (0.9, False)):
            ours = data.PCA(k, whiten=whiten, svd_solver=solver).fit(x)
            ref = decomposition.PCA(k, whiten=whiten, svd_solver=solver).fit(x)
            name = f"PCA(n_components={k}, whiten={whiten}, svd_solver={solver!r})"
            out.append((name + ".transform", _max_diff(ours.transform(x), ref.transform(x))))
            out.append((name + ".components_", _max_diff(ours.components_, ref.components_)))
            out.append((name + ".explained_variance_ratio_",
                        _max_diff(ours.explained_variance_ratio_, ref.explained_variance_ratio_)))
            out.append((name + ".inverse_transform",
                        _max_diff(ours.inverse_transform(ours.transform(x)),
                                  ref.inverse_transform(ref.transform(x)))))

    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 300)
    xl = x + 2.0 * np.eye(12)[y % 12] * 3
    for k in (None, 2):
        ours = data.LinearDiscriminantAnalysis(n_components=k).fit(xl, y)
        ref = discriminant_analysis.LinearDiscriminantAnalysis(n_components=k).fit(xl, y)
        out.append((f"LinearDiscriminantAnalysis(n_components={k}).transform",
                    _max_diff(ours.transform(xl), ref.transform(xl))))

    cats = np.stack([rng.choice(["red", "green", "blue", "teal"], 200),
                     rng.choice(["S", "M", "L"], 200)], axis=1).astype(object)
    nums = rng.integers(-3, 4, (200, 3))
    for table, kind in ((cats, "strings"), (nums, "ints")):
        for drop in (None, "first", "if_binary"):
            ours = data.OneHotEncoder(drop=drop).fit(table)
            ref = preprocessing.OneHotEncoder(drop=drop, sparse_output=False).fit(table)
            out.append((f"OneHotEncoder(drop={drop!r}) on {kind}",
                        _max_diff(ours.transform(table), ref.transform(table))))
        ours, ref = data.OrdinalEncoder().fit(table), preprocessing.OrdinalEncoder().fit(table)
        out.append((f"OrdinalEncoder on {kind}", _max_diff(ours.transform(table),
                                                           ref.transform(table))))
        out.append((f"OrdinalEncoder.inverse_transform on {kind}",
                    _equal(ours.inverse_transform(ours.transform(table)),
                           ref.inverse_transform(ref.transform(table)))))

    words = ["".join(rng.choice(list("abcdefghijklmnop"), rng.integers(1, 10)))
             for _ in range(400)]
    docs = [{w: float(rng.integers(1, 4)) for w in words[i:i + 5]} for i in range(0, 400, 5)]
    pairs = [list(d.items()) for d in docs]
    tokens = [words[i:i + 8] for i in range(0, 400, 8)]
    for kind, samples in (("dict", docs), ("pair", pairs), ("string", tokens)):
        for sign in (True, False):
            ours = data.FeatureHasher(256, input_type=kind, alternate_sign=sign)
            ref = feature_extraction.FeatureHasher(256, input_type=kind, alternate_sign=sign)
            out.append((f"FeatureHasher(input_type={kind!r}, alternate_sign={sign})",
                        _max_diff(ours.transform(samples), ref.transform(samples).toarray())))

    xs = x.copy()
    xs[:, 3] = 2.5
    xs[:, 7] *= 1e-3
    for t in (0.0, 0.5):
        out.append((f"VarianceThreshold({t}).get_support",
                    _equal(data.VarianceThreshold(t).fit(xs).get_support(),
                           feature_selection.VarianceThreshold(t).fit(xs).get_support())))
    yc = (x[:, 0] + x[:, 5] + rng.standard_normal(300) > 0).astype(int) + (x[:, 2] > 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # scikit-learn warns about the constant feature
        F, p = data.f_classif(xs, yc)
        F_ref, p_ref = feature_selection.f_classif(xs, yc)
        kb = data.SelectKBest(data.f_classif, k=4).fit(xs, yc)
        kb_ref = feature_selection.SelectKBest(feature_selection.f_classif, k=4).fit(xs, yc)
    out.append(("f_classif scores (relative)", _max_diff(F / np.where(np.isnan(F_ref), 1, F_ref),
                                                         np.where(np.isnan(F_ref), np.nan, 1))))
    out.append(("f_classif p-values", _max_diff(p, p_ref)))
    out.append(("SelectKBest(f_classif, k=4).get_support", _equal(kb.get_support(),
                                                                   kb_ref.get_support())))
    target = x[:, 1] * 0.5 + rng.standard_normal(300)
    Fr, pr = data.f_regression(x, target)
    Fr_ref, pr_ref = feature_selection.f_regression(x, target)
    out.append(("f_regression scores (relative)", _max_diff(Fr / Fr_ref, np.ones_like(Fr))))
    out.append(("f_regression p-values", _max_diff(pr, pr_ref)))
    out.append(("mutual_info_classif", _max_diff(data.mutual_info_classif(x, yc, seed=0),
                                                 feature_selection.mutual_info_classif(
                                                     x, yc, random_state=0))))

    xo = x.copy()
    xo[::17] *= 40
    for q in ((25.0, 75.0), (10.0, 90.0)):
        ours = data.RobustScaler(quantile_range=q).fit(xo)
        ref = preprocessing.RobustScaler(quantile_range=q).fit(xo)
        out.append((f"RobustScaler(quantile_range={q}).transform",
                    _max_diff(ours.transform(xo), ref.transform(xo))))

    for k in (1, 5):
        ref = neighbors.NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)[1][:, 1:]
        out.append((f"SMOTE neighbours (k={k}) vs NearestNeighbors",
                    _equal(data.nearest_neighbors(x, k), ref)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    try:
        import sklearn
    except ImportError:
        print("scikit-learn is not installed: nothing to compare against (pip install "
              "scikit-learn)")
        return 0
    results = checks()
    width = max(len(name) for name, _ in results)
    failed = 0
    for name, diff in results:
        ok = diff <= TOLERANCE
        failed += not ok
        print(f"{name:<{width}}  max |diff| {diff:.2e}  {'ok' if ok else 'DISAGREES'}")
    print(f"{len(results) - failed}/{len(results)} agree to {TOLERANCE:g} "
          f"(scikit-learn {sklearn.__version__}, NumPy {np.__version__})")
    if args.json:
        payload = {"sklearn": sklearn.__version__, "numpy": np.__version__,
                   "tolerance": TOLERANCE,
                   "checks": [{"name": n, "max_abs_diff": d, "ok": d <= TOLERANCE}
                              for n, d in results]}
        with open(args.json + ".tmp", "w") as f:
            json.dump(payload, f, indent=1)
        os.replace(args.json + ".tmp", args.json)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
