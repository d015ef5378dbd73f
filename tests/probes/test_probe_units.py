"""The champion is one of the replicates: probes run that model once and hand its answers to both.

Real simulators: the two tiny Salmon LSTMs of ``conftest.tiny_lstms`` and a renamed copy of one.
"""

from __future__ import annotations

import dataclasses

from hydroprobe.probes.paper import run_paper_probes
from hydroprobe.probes.units import content_key, in_process, once_per_model


def test_content_key_ignores_the_name_and_sees_the_weights(tiny_lstms) -> None:
    first, second = tiny_lstms
    champion = dataclasses.replace(first, name="hydroprobe-salmon_river v1")
    assert content_key(champion) == content_key(first)
    assert content_key(second) != content_key(first)  # other seed, other weights
    longer = dataclasses.replace(first, window=first.window + 1)
    assert content_key(longer) != content_key(first)
    assert content_key(object()) is None  # not a dataclass: never merged


def test_once_per_model_runs_each_model_once_and_copies_answers() -> None:
    calls: list[int] = []

    def answer(unit, offset):
        calls.append(unit["weights"])
        return {"flow": [unit["weights"] + offset]}

    @dataclasses.dataclass
    class Model:
        name: str
        weights: int

    units = [{"weights": 1, "model": Model("champion", 1)}, {"weights": 1, "model": Model("seed 0", 1)},
             {"weights": 2, "model": Model("seed 1", 2)}]
    answers = once_per_model(in_process, lambda unit: unit["model"])(answer, units, {"offset": 10})
    assert calls == [1, 2]
    assert answers == [{"flow": [11]}, {"flow": [11]}, {"flow": [12]}]
    answers[1]["flow"].append(0)  # copies, not the same object
    assert answers[0] == {"flow": [11]}


def test_paper_probes_give_the_champion_the_answers_of_its_own_run(tiny_lstms, salmon_dataset, settings,
                                                                   tmp_path) -> None:
    champion = dataclasses.replace(tiny_lstms[0], name="hydroprobe-salmon_river v1")
    units_run: list[str] = []

    def counting(fn, units, shared):
        units_run.extend(unit.name for unit in units)
        return in_process(fn, units, shared)

    result = run_paper_probes(champion, tiny_lstms, salmon_dataset, settings, tmp_path, counting)
    assert units_run == [champion.name, tiny_lstms[1].name]  # replicate 0 is the champion: run once
    assert result["champion"] == champion.name and len(result["replicates"]) == 2
    for case, key, metric in (("case1", "observed_climatology", "peak_flow_m3s"),
                              ("case2", "level_0p9", "mass_recovered")):
        values = result[case][key][metric]
        assert values["champion"] == values["replicates"][0] != values["replicates"][1]
