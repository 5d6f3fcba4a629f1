"""A linear-Gaussian Kalman filter with EM, numerically as `pykalman` computes it.

SLEAP 1.4.1's Kalman tracker used `pykalman.KalmanFilter` (an unmaintained package):
constant-velocity filters whose noise covariances and initial state are learned by
20 EM iterations on the first tracked frames, then `filter_update` per frame. This
module reproduces the parts used: `em` (learning the transition and observation
covariances, initial state mean and covariance), `filter` and `filter_update`. An
observation with any missing (masked/NaN) value is skipped, as in `pykalman`.

Shapes: state `(S,)`, observations `(T, O)`, covariances `(S, S)`, float64.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
from scipy import linalg


def constant_velocity_matrices(n_coords: int) -> Tuple[np.ndarray, np.ndarray]:
    """Transition and observation matrices of a constant-velocity model.

    The state interleaves coordinates and velocities, `(c0, v0, c1, v1, ...)`.

    Args:
        n_coords: Number of observed coordinates `O` (2 per node).

    Returns:
        `(A, C)`: `(2O, 2O)` transition and `(O, 2O)` observation matrices.
    """
    a = np.zeros((2 * n_coords, 2 * n_coords))
    c = np.zeros((n_coords, 2 * n_coords))
    for i in range(n_coords):
        a[2 * i, 2 * i] = a[2 * i, 2 * i + 1] = a[2 * i + 1, 2 * i + 1] = 1
        c[i, 2 * i] = 1
    return a, c


def _missing(obs) -> bool:
    return bool(np.any(np.ma.getmaskarray(obs))) or bool(np.any(np.isnan(np.ma.getdata(obs))))


def _predict(a, q, mean, cov):
    return a @ mean, a @ cov @ a.T + q


def _correct(c, r, mean, cov, obs):
    if _missing(obs):
        return np.zeros((len(mean), c.shape[0])), mean, cov
    obs = np.asarray(np.ma.getdata(obs), np.float64)
    s = c @ cov @ c.T + r
    gain = cov @ c.T @ linalg.pinv(s)
    return gain, mean + gain @ (obs - c @ mean), cov - gain @ c @ cov


class KalmanFilter:
    """Kalman filter `x_t = A x_{t-1} + w`, `z_t = C x_t + v` (no offsets).

    Attributes:
        transition_matrix: `(S, S)` A.
        observation_matrix: `(O, S)` C.
        transition_covariance: `(S, S)` Q (identity until learned).
        observation_covariance: `(O, O)` R (identity until learned).
        initial_state_mean: `(S,)`.
        initial_state_covariance: `(S, S)` (identity until learned).
    """

    def __init__(self, transition_matrix: np.ndarray, observation_matrix: np.ndarray,
                 initial_state_mean: np.ndarray):
        self.transition_matrix = np.asarray(transition_matrix, np.float64)
        self.observation_matrix = np.asarray(observation_matrix, np.float64)
        n_state, n_obs = self.transition_matrix.shape[0], self.observation_matrix.shape[0]
        self.initial_state_mean = np.asarray(initial_state_mean, np.float64)
        self.transition_covariance = np.eye(n_state)
        self.observation_covariance = np.eye(n_obs)
        self.initial_state_covariance = np.eye(n_state)

    def _filter(self, obs: np.ndarray):
        a, c = self.transition_matrix, self.observation_matrix
        q, r = self.transition_covariance, self.observation_covariance
        n = len(obs)
        s = len(self.initial_state_mean)
        pm, pc = np.zeros((n, s)), np.zeros((n, s, s))
        fm, fc = np.zeros((n, s)), np.zeros((n, s, s))
        for t in range(n):
            if t == 0:
                pm[t], pc[t] = self.initial_state_mean, self.initial_state_covariance
            else:
                pm[t], pc[t] = _predict(a, q, fm[t - 1], fc[t - 1])
            _, fm[t], fc[t] = _correct(c, r, pm[t], pc[t], obs[t])
        return pm, pc, fm, fc

    def filter(self, observations) -> Tuple[np.ndarray, np.ndarray]:
        """Filtered state means `(T, S)` and covariances `(T, S, S)`."""
        obs = _as_observations(observations)
        _, _, fm, fc = self._filter(obs)
        return fm, fc

    def em(self, observations, n_iter: int = 10) -> KalmanFilter:
        """Learn Q, R and the initial state by EM (pykalman's default `em_vars`).

        Args:
            observations: `(T, O)` array; NaN or masked entries mark missing values.
            n_iter: EM iterations.

        Returns:
            self.
        """
        obs = _as_observations(observations)
        a, c = self.transition_matrix, self.observation_matrix
        n = len(obs)
        for _ in range(n_iter):
            pm, pc, fm, fc = self._filter(obs)
            sm, sc, gains = fm.copy(), fc.copy(), np.zeros_like(fc)
            for t in reversed(range(n - 1)):
                gains[t] = fc[t] @ a.T @ linalg.pinv(pc[t + 1])
                sm[t] = fm[t] + gains[t] @ (sm[t + 1] - pm[t + 1])
                sc[t] = fc[t] + gains[t] @ (sc[t + 1] - pc[t + 1]) @ gains[t].T
            pair = np.zeros_like(sc)
            for t in range(1, n):
                pair[t] = sc[t] @ gains[t - 1].T
            # observation covariance
            res = np.zeros((c.shape[0], c.shape[0]))
            n_obs = 0
            for t in range(n):
                if not _missing(obs[t]):
                    err = np.asarray(np.ma.getdata(obs[t]), np.float64) - c @ sm[t]
                    res += np.outer(err, err) + c @ sc[t] @ c.T
                    n_obs += 1
            self.observation_covariance = res / n_obs if n_obs > 0 else res
            # transition covariance
            res = np.zeros_like(a)
            for t in range(n - 1):
                err = sm[t + 1] - a @ sm[t]
                va = pair[t + 1] @ a.T
                res += np.outer(err, err) + a @ sc[t] @ a.T + sc[t + 1] - va - va.T
            self.transition_covariance = res / (n - 1)
            # initial state
            mu0 = sm[0]
            x0x0 = sc[0] + np.outer(sm[0], sm[0])
            self.initial_state_mean = mu0
            self.initial_state_covariance = (x0x0 - np.outer(mu0, sm[0])
                                             - np.outer(sm[0], mu0) + np.outer(mu0, mu0))
        return self

    def filter_update(self, mean: np.ndarray, cov: np.ndarray,
                      observation: Optional[np.ndarray] = None
                      ) -> Tuple[np.ndarray, np.ndarray]:
        """One predict + correct step; a missing observation only predicts.

        Args:
            mean: `(S,)` current state mean.
            cov: `(S, S)` current state covariance.
            observation: `(O,)` observation (NaN/masked = missing), or None.

        Returns:
            `(mean, cov)` of the next state.
        """
        pm, pc = _predict(self.transition_matrix, self.transition_covariance, mean, cov)
        if observation is None:
            return pm, pc
        _, m, c = _correct(self.observation_matrix, self.observation_covariance, pm, pc,
                           observation)
        return m, c


def _as_observations(observations) -> np.ndarray:
    obs = np.ma.masked_invalid(np.ma.asarray(observations, dtype=np.float64))
    if obs.ndim == 1:
        obs = obs[:, None]
    return obs


__all__ = ["KalmanFilter", "constant_velocity_matrices"]
