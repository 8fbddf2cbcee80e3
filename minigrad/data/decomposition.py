"""Feature extraction by linear projection: PCA and linear discriminant analysis
(scikit-learn's ``PCA`` and ``LinearDiscriminantAnalysis``, same attributes and results).

Both are fitted in float64 on the data's device (``xp.linalg.svd``: LAPACK on the cpu,
cuSOLVER on a GPU); the fitted attributes are kept as NumPy arrays and ``transform`` returns
the input's floating dtype on its device.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ._common import like, raw
from ._estimator import Estimator, feature_matrix, labels
from .encoding import _column, _lookup, _unique
from .preprocessing import _on_device_of

__all__ = ["PCA", "LinearDiscriminantAnalysis"]


def _cpu(array):
    return backend.to_device(array, "cpu")


def _flip_signs(Vt):
    """scikit-learn's ``svd_flip(u_based_decision=False)``: each row of ``Vt`` is multiplied
    by the sign of its largest-magnitude entry, so that entry is positive (a deterministic
    choice between the two equally valid signs of a singular vector)."""
    xp = backend.array_module(Vt)
    largest = xp.argmax(xp.abs(Vt), axis=1)
    signs = xp.sign(Vt[xp.arange(Vt.shape[0]), largest])
    return Vt * xp.where(signs == 0, 1.0, signs)[:, None]


class PCA(Estimator):
    """Principal component analysis by singular value decomposition.

    Fit, on ``X`` of shape ``(n, f)``::

        mean = (1/n) sum_i x_i,   Xc = X - mean
        Xc   = U S Vt                              thin SVD, S descending
        components_               = Vt[:k]        (rows: directions of largest variance,
                                                   each signed so its largest |entry| > 0)
        explained_variance_       = S[:k]^2 / (n - 1)
        explained_variance_ratio_ = S[:k]^2 / sum(S^2)
        noise_variance_           = mean(S[k:]^2 / (n - 1))   (0 when k = min(n, f))

    Transform: ``Z = (X - mean) @ components_.T``, divided by ``sqrt(explained_variance_)``
    with ``whiten=True`` (unit-variance components). Inverse: ``X ~ Z @ components_ + mean``
    (times ``sqrt(explained_variance_)`` first when whitened): exact when k = f.

    ``n_components``: an int ``k``, None (all, ``min(n, f)``) or a float in (0, 1) (the fewest
    components whose cumulative explained-variance ratio exceeds it). ``svd_solver``:
    ``'full'`` (the SVD above), ``'covariance_eigh'`` (eigenvectors of the covariance
    ``Xc.T Xc / (n - 1)``: faster for ``n >> f``, less precise for tiny variances) or
    ``'auto'`` (scikit-learn's rule: covariance_eigh when ``f <= 1000`` and ``n >= 10 f``,
    else full; the randomized solver is not provided).
    """

    _config = ("n_components", "whiten", "svd_solver")
    _fitted = ("components_", "explained_variance_", "explained_variance_ratio_",
               "singular_values_", "mean_", "noise_variance_", "n_components_", "n_samples_",
               "n_features_in_")

    def __init__(self, n_components=None, whiten: bool = False, svd_solver: str = "auto"):
        if svd_solver not in ("auto", "full", "covariance_eigh"):
            raise ValueError(f"PCA: svd_solver must be 'auto', 'full' or 'covariance_eigh', "
                             f"got {svd_solver!r}")
        if n_components is not None and (isinstance(n_components, bool) or not isinstance(
                n_components, numbers.Real) or n_components <= 0):
            raise ValueError(f"PCA: n_components must be a positive int, a float in (0, 1) or "
                             f"None, got {n_components!r}")
        self.n_components = n_components
        self.whiten = bool(whiten)
        self.svd_solver = svd_solver

    def _spectrum(self, x):
        """``(S, Vt)`` of the centred data, S descending, Vt's rows sign-flipped."""
        xp = backend.array_module(x)
        n, f = x.shape
        solver = self.svd_solver
        if solver == "auto":
            solver = "covariance_eigh" if f <= 1000 and n >= 10 * f else "full"
        mean = x.mean(axis=0)
        if solver == "full":
            _, S, Vt = xp.linalg.svd(x - mean, full_matrices=False)
        else:
            C = x.T @ x - n * xp.outer(mean, mean)       # Xc.T Xc without copying X
            eigenvalues, eigenvectors = xp.linalg.eigh(C / (n - 1))
            eigenvalues = xp.maximum(eigenvalues[::-1], 0.0)  # descending; clip round-off
            S = xp.sqrt(eigenvalues * (n - 1))
            Vt = eigenvectors[:, ::-1].T
        return mean, S, _flip_signs(Vt)

    def fit(self, X, y=None) -> "PCA":
        """Learn the mean and the principal directions of ``X`` (training data)."""
        x = feature_matrix(X, "PCA.fit").astype(np.float64)
        n, f = x.shape
        if n < 2:
            raise ValueError(f"PCA.fit: needs at least 2 samples, got shape {tuple(x.shape)}")
        k_max = min(n, f)
        k = self.n_components
        if isinstance(k, numbers.Integral) and not k <= k_max:
            raise ValueError(f"PCA.fit: n_components={k} must be at most min(n_samples, "
                             f"n_features) = {k_max} for data of shape {tuple(x.shape)}")
        if not isinstance(k, numbers.Integral) and k is not None and not k < 1:
            raise ValueError(f"PCA.fit: a float n_components must lie in (0, 1), got {k}")
        mean, S, Vt = self._spectrum(x)
        xp = backend.array_module(S)
        variance = S ** 2 / (n - 1)
        ratio = variance / variance.sum()
        if k is None:
            k = k_max
        elif not isinstance(k, numbers.Integral):
            # fewest components whose cumulative ratio exceeds k ('right': strictly above)
            k = int(xp.searchsorted(xp.cumsum(ratio), xp.asarray([k]), side="right")[0]) + 1
            k = min(k, k_max)
        k = int(k)
        self.noise_variance_ = float(variance[k:k_max].mean()) if k < k_max else 0.0
        self.components_ = _cpu(Vt[:k])
        self.explained_variance_ = _cpu(variance[:k])
        self.explained_variance_ratio_ = _cpu(ratio[:k])
        self.singular_values_ = _cpu(S[:k])
        self.mean_ = _cpu(mean)
        self.n_components_, self.n_samples_, self.n_features_in_ = k, int(n), int(f)
        return self

    def _check_features(self, x, method):
        if x.shape[1] != self.n_features_in_:
            raise ValueError(f"PCA.{method}: X has {x.shape[1]} features (shape "
                             f"{tuple(x.shape)}), but PCA was fitted on {self.n_features_in_}")

    def transform(self, X):
        """``(X - mean) @ components_.T`` (whitened when ``whiten``)."""
        self._check_fitted("transform")
        x = feature_matrix(X, "PCA.transform")
        self._check_features(x, "transform")
        xp = backend.array_module(x)
        z = (x - _on_device_of(self.mean_, x, x.dtype)) @ \
            _on_device_of(self.components_, x, x.dtype).T
        if self.whiten:
            z = z / xp.sqrt(_on_device_of(self.explained_variance_, x, x.dtype))
        return like(z, X)

    def inverse_transform(self, Z):
        """``Z @ components_ + mean`` (Z scaled back by ``sqrt(explained_variance_)`` when
        whitened): the data the components explain."""
        self._check_fitted("inverse_transform")
        z = feature_matrix(Z, "PCA.inverse_transform")
        if z.shape[1] != self.n_components_:
            raise ValueError(f"PCA.inverse_transform: Z has {z.shape[1]} columns, expected "
                             f"n_components_ = {self.n_components_}")
        xp = backend.array_module(z)
        if self.whiten:
            z = z * xp.sqrt(_on_device_of(self.explained_variance_, z, z.dtype))
        x = z @ _on_device_of(self.components_, z, z.dtype) + \
            _on_device_of(self.mean_, z, z.dtype)
        return like(x, Z)


class LinearDiscriminantAnalysis(Estimator):
    """Fisher's linear discriminant: the projection that maximizes between-class scatter
    relative to within-class scatter (scikit-learn's ``solver='svd'``, same numbers).

    The Fisher criterion ``J(w) = (w' S_b w) / (w' S_w w)`` is maximized in two SVDs::

        means_[k] = mean of class k,    priors_[k] = n_k / n,   xbar_ = priors_ @ means_
        Xc        = x_i - means_[y_i]                    within-class deviations
        std       = std(Xc) per feature (1 where 0)
        (1/sqrt(n)) Xc / std = U S Vt                     whitening of S_w:
        W         = (Vt[:r] / std).T / S[:r]              W' S_w W = I (r: S > tol)
        B         = sqrt(n priors_ / (K-1)) * (means_ - xbar_) @ W     the class means, whitened
        B         = U2 S2 Vt2                             PCA of the whitened means
        scalings_ = W @ Vt2.T[:, :r2]                     (r2: S2 > tol * S2[0])
        explained_variance_ratio_ = S2^2 / sum(S2^2)

    In the whitened space the within-class scatter is the identity, so the directions of most
    between-class scatter (Vt2) maximize J. Transform: ``((X - xbar_) @ scalings_)[:, :d]``
    with ``d = n_components`` (at most ``min(K - 1, n_features)``). ``predict`` uses the
    linear decision functions ``X @ coef_.T + intercept_`` of the same fit.
    """

    _config = ("n_components", "tol", "priors")
    _fitted = ("classes_", "priors_", "means_", "xbar_", "scalings_",
               "explained_variance_ratio_", "coef_", "intercept_", "n_components_",
               "n_features_in_")

    def __init__(self, n_components=None, tol: float = 1e-4, priors=None):
        self.n_components = n_components
        self.tol = float(tol)
        self.priors = None if priors is None else [float(p) for p in np.asarray(priors)]

    def fit(self, X, y) -> "LinearDiscriminantAnalysis":
        """Learn class means, priors and the discriminant directions from ``(X, y)``."""
        owner = "LinearDiscriminantAnalysis.fit"
        x = feature_matrix(X, owner).astype(np.float64)
        xp = backend.array_module(x)
        n, f = x.shape
        y = _column(labels(y, n, owner), owner, "y")
        classes = _unique(y)
        codes, _ = _lookup(classes, y, owner, "y")
        codes = codes if xp is np else backend.to_device(codes, backend.device_of(x))
        K = len(classes)
        if K < 2:
            raise ValueError(f"{owner}: needs at least 2 classes, got {K}")
        max_components = min(K - 1, f)
        d = max_components if self.n_components is None else int(self.n_components)
        if not 1 <= d <= max_components:
            raise ValueError(f"{owner}: n_components={self.n_components} must lie in "
                             f"1..min(n_classes - 1, n_features) = {max_components}")
        counts = xp.bincount(codes, minlength=K).astype(np.float64)
        if self.priors is None:
            priors = counts / n
        else:
            priors = xp.asarray(self.priors, dtype=np.float64)
            if priors.shape != (K,):
                raise ValueError(f"{owner}: priors has {priors.shape[0]} values for {K} classes")
            priors = priors / priors.sum()
        onehot = (codes[:, None] == xp.arange(K)[None, :]).astype(np.float64)
        means = (onehot.T @ x) / counts[:, None]
        order = xp.argsort(codes, kind="stable")       # rows grouped by class, as scikit-learn
        Xc = x[order] - means[codes[order]]
        xbar = priors @ means
        std = Xc.std(axis=0)
        std = xp.where(std == 0, 1.0, std)
        _, S, Vt = xp.linalg.svd(Xc / std * (1.0 / n) ** 0.5, full_matrices=False)
        rank = int((S > self.tol).sum())
        W = (Vt[:rank] / std).T / S[:rank]
        B = (xp.sqrt(n * priors / (K - 1)) * (means - xbar).T).T @ W
        _, S2, Vt2 = xp.linalg.svd(B, full_matrices=False)
        rank2 = int((S2 > self.tol * S2[0]).sum())
        scalings = W @ Vt2.T[:, :rank2]
        coef = (means - xbar) @ scalings
        intercept = -0.5 * (coef ** 2).sum(axis=1) + xp.log(priors)
        coef = coef @ scalings.T
        intercept = intercept - xbar @ coef.T
        self.classes_, self.priors_, self.means_, self.xbar_ = classes, _cpu(priors), \
            _cpu(means), _cpu(xbar)
        self.scalings_ = _cpu(scalings)
        self.explained_variance_ratio_ = _cpu((S2 ** 2 / (S2 ** 2).sum())[:d])
        self.coef_, self.intercept_ = _cpu(coef), _cpu(intercept)
        self.n_components_, self.n_features_in_ = d, int(f)
        return self

    def _features(self, X, method):
        self._check_fitted(method)
        x = feature_matrix(X, f"LinearDiscriminantAnalysis.{method}")
        if x.shape[1] != self.n_features_in_:
            raise ValueError(f"LinearDiscriminantAnalysis.{method}: X has {x.shape[1]} features "
                             f"(shape {tuple(x.shape)}), fitted on {self.n_features_in_}")
        return x

    def transform(self, X):
        """``((X - xbar_) @ scalings_)[:, :n_components]``: the discriminant coordinates."""
        x = self._features(X, "transform")
        z = (x - _on_device_of(self.xbar_, x, x.dtype)) @ \
            _on_device_of(self.scalings_[:, :self.n_components_], x, x.dtype)
        return like(z, X)

    def fit_transform(self, X, y=None):
        return self.fit(X, y).transform(X)

    def decision_function(self, X):
        """``X @ coef_.T + intercept_``: one linear score per class."""
        x = self._features(X, "decision_function")
        scores = x @ _on_device_of(self.coef_, x, x.dtype).T + \
            _on_device_of(self.intercept_, x, x.dtype)
        return like(scores, X)

    def predict(self, X):
        """The class of the largest decision score (``classes_[argmax]``)."""
        scores = self.decision_function(X)
        s = raw(scores)
        xp = backend.array_module(s)
        best = xp.argmax(s, axis=1)
        if self.classes_.dtype == object:
            return self.classes_[_cpu(best)]
        return _on_device_of(self.classes_, s, self.classes_.dtype)[best]
