"""Every basin block params.yaml ships passes ``hydroprobe prepare``'s checks as shipped (real files)."""

from __future__ import annotations

import pytest

from hydroprobe.data.checks import check_length_and_splits
from hydroprobe.data.loaders import load_basin
from hydroprobe.data.splits import parse_splits


@pytest.mark.parametrize("basin_id", ["salmon_river", "matapedia", "camels_01022500", "caravan_06224000"])
def test_a_shipped_basin_block_prepares_as_shipped(basin_id, params, shared_data) -> None:
    assert basin_id in params["basins"]  # the list above names every shipped block
    spec = params["basins"][basin_id]
    series = load_basin(basin_id, spec, shared_data)
    splits = parse_splits(spec["splits"], f"basins.{basin_id}.splits")
    check_length_and_splits(series.frame, splits, params["train"]["window"], series.source)


def test_the_list_above_is_every_shipped_block(params) -> None:
    assert sorted(params["basins"]) == ["camels_01022500", "caravan_06224000", "matapedia", "salmon_river"]
