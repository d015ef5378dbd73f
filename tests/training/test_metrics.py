"""Goodness-of-fit metrics against values worked out by hand."""

import math

import numpy as np
import pytest

from hydroprobe.training import metrics

OBS = np.array([1.0, 2.0, 3.0, 4.0])
SIM = np.array([1.5, 2.0, 2.5, 5.0])


def test_rmse_by_hand():
    # errors 0.5, 0, -0.5, 1 → squares 0.25, 0, 0.25, 1 → mean 0.375
    assert metrics.rmse(OBS, SIM) == pytest.approx(math.sqrt(0.375))


def test_nse_by_hand():
    # SSE = 1.5; obs mean 2.5, sum of squared deviations = 2.25+0.25+0.25+2.25 = 5
    assert metrics.nse(OBS, SIM) == pytest.approx(1 - 1.5 / 5)


def test_pearson_by_hand():
    # sim mean 2.75; cov terms: (-1.5)(-1.25)+(-0.5)(-0.75)+(0.5)(-0.25)+(1.5)(2.25) = 5.5
    # var obs = 5, var sim = 1.5625+0.5625+0.0625+5.0625 = 7.25
    assert metrics.pearson_r(OBS, SIM) == pytest.approx(5.5 / math.sqrt(5 * 7.25))


def test_kge_by_hand():
    r = 5.5 / math.sqrt(5 * 7.25)
    alpha = math.sqrt(7.25 / 4) / math.sqrt(5 / 4)
    beta = 2.75 / 2.5
    expected = 1 - math.sqrt((r - 1) ** 2 + (alpha - 1) ** 2 + (beta - 1) ** 2)
    assert metrics.kge(OBS, SIM) == pytest.approx(expected)


def test_missing_observations_are_excluded():
    obs = np.array([1.0, np.nan, 2.0, 3.0, 4.0])
    sim = np.array([1.5, 99.0, 2.0, 2.5, 5.0])
    assert metrics.all_metrics(obs, sim) == pytest.approx(metrics.all_metrics(OBS, SIM))


def test_perfect_simulation_scores_one():
    assert metrics.nse(OBS, OBS) == 1.0
    assert metrics.kge(OBS, OBS) == pytest.approx(1.0)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.nse(OBS, SIM[:3])
