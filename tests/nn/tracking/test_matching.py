"""Greedy and Hungarian matching on hand-made cost matrices."""

from __future__ import annotations

import numpy as np

from sleapish.nn.tracking import first_choice_matching, greedy_matching, hungarian_matching


def test_greedy_and_hungarian_differ_where_greedy_is_myopic():
    cost = np.array([[1.0, 2.0], [2.0, 100.0]])
    assert greedy_matching(cost) == [(0, 0), (1, 1)]  # 1 + 100
    assert hungarian_matching(cost) == [(0, 1), (1, 0)]  # 2 + 2


def test_greedy_order_is_ascending_cost():
    cost = np.array([[5.0, 1.0, 9.0], [0.5, 7.0, 8.0]])
    assert greedy_matching(cost) == [(1, 0), (0, 1)]


def test_more_instances_than_tracks():
    cost = np.array([[3.0, 1.0], [0.0, 4.0], [2.0, 2.5]])
    assert greedy_matching(cost) == [(1, 0), (0, 1)]
    assert hungarian_matching(cost) == [(0, 1), (1, 0)]


def test_empty_and_infinite_costs():
    assert greedy_matching(np.zeros((0, 3))) == []
    assert hungarian_matching(np.zeros((2, 0))) == []
    # no finite complete assignment (SLEAP's scipy call raised): finite part kept
    cost = np.array([[np.inf, 1.0], [np.inf, 2.0]])
    assert hungarian_matching(cost) == [(0, 1), (1, 0)]
    assert greedy_matching(cost) == [(0, 1), (1, 0)]


def test_first_choice():
    cost = np.array([[3.0, 1.0], [0.0, 4.0], [2.0, 2.5]])
    assert first_choice_matching(cost) == [(0, 1), (1, 0), (2, 0)]
