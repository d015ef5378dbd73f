"""Tiles: which window predicts each day of a record, checked on hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest

from hydroprobe.data.tiles import tiles


def test_tiles_cover_every_day_after_the_warm_up_exactly_once() -> None:
    # 10 days, windows of 4 scoring their last 2: days 0-1 warm up; ends 3, 5, 7, 9
    plan = tiles(np.arange(10), 10, 4, 2)
    assert plan.ends.tolist() == [3, 5, 7, 9]
    assert plan.days.tolist() == list(range(2, 10))
    assert plan.tile.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert plan.position.tolist() == [0, 1] * 4


def test_the_last_tile_ends_on_the_last_day_and_scores_only_what_is_left() -> None:
    # 9 days: ends 3, 5, 7 and then 8 (it scores day 8 only, at its last position)
    plan = tiles(np.arange(9), 9, 4, 2)
    assert plan.ends.tolist() == [3, 5, 7, 8]
    assert plan.tile[-1] == 3 and plan.position[-1] == 1
    scored = np.arange(8).reshape(1, 4, 2) * 10.0  # tile k scores (10·2k, 10·(2k+1))
    assert plan.gather(scored)[0].tolist() == [0, 10, 20, 30, 40, 50, 70]


def test_a_split_and_an_offset_select_and_shift_rows() -> None:
    plan = tiles(np.array([0, 1, 6, 7]), 10, 4, 2, offset=100)
    assert plan.days.tolist() == [106, 107]  # days 0 and 1 have no window
    assert plan.ends.tolist() == [107]


def test_span_one_is_the_sliding_window_and_a_short_record_is_refused() -> None:
    plan = tiles(np.arange(6), 6, 3, 1)
    assert plan.ends.tolist() == [2, 3, 4, 5] and plan.days.tolist() == [2, 3, 4, 5]
    with pytest.raises(ValueError, match="shorter than one 4-day window"):
        tiles(np.arange(3), 3, 4, 2)
    with pytest.raises(ValueError, match="span must be between 1 and the window"):
        tiles(np.arange(9), 9, 4, 5)
