import math

import pytest

from hydroprobe.probes.spread import spread, spread_tree


def test_spread_is_median_and_linear_percentiles():
    # numpy's linear percentile on 1..5: p05 = 1 + 0.05·4, p95 = 1 + 0.95·4
    assert spread([5.0, 1.0, 3.0, 2.0, 4.0]) == pytest.approx({"median": 3.0, "p05": 1.2, "p95": 4.8})


def test_no_replicates_gives_undefined_spread():
    assert all(math.isnan(v) for v in spread([]).values())


def test_spread_tree_keeps_the_shape_and_treats_leaves_by_kind():
    champion = {"case": {"peak": 10.0, "date": "05-01", "grows": True}}
    replicates = [
        {"case": {"peak": 8.0, "date": "05-03", "grows": True}},
        {"case": {"peak": 12.0, "date": "04-29", "grows": False}},
    ]
    tree = spread_tree(champion, replicates)["case"]
    assert tree["peak"].pop("replicates") == [8.0, 12.0]
    assert tree["peak"] == pytest.approx({"champion": 10.0, "median": 10.0, "p05": 8.2, "p95": 11.8})
    assert tree["date"] == {"champion": "05-01", "replicates": ["05-03", "04-29"]}
    assert tree["grows"] == {"champion": True, "fraction_true": 0.5, "replicates": [True, False]}
