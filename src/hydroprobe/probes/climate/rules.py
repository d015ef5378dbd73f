"""Physical plausibility rules for climate responses, each pass/fail with its numbers.

A model fit for climate-impact work must, at the very least, move flow in
the direction physics dictates and by amounts the basin's own record
supports (Wi & Steinschneider 2022, 2024; Martel et al. 2025). Rules judge
one run (a model replicate) over every scenario they apply to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hydroprobe.probes.climate.scenarios import ClimateScenario


@dataclass(frozen=True)
class Rule:
    key: str
    statement: str
    failure: str  # what breaking the rule means, in plain words
    metric: str  # the response value reported as the rule's number
    applies: Callable[[ClimateScenario], bool]
    passes: Callable[[float, dict], bool]  # (value, context) -> ok


def _all_year_precipitation(scenario: ClimateScenario) -> bool:
    return scenario.kind == "precipitation"


def _warming(scenario: ClimateScenario) -> bool:
    return scenario.warming_only and scenario.temperature_shift > 0


RULES = (
    Rule(
        "precipitation_direction",
        "more precipitation never lowers annual flow, less never raises it",
        "it can move annual flow against the change in precipitation",
        "delta_flow_percent",
        lambda s: s.precipitation_only,
        lambda value, c: value * c["precipitation_change_percent"] >= 0,
    ),
    Rule(
        "mass_conservation",
        "no more than 100 % of added precipitation returns as flow",
        "its flow changes by more water than the change in precipitation supplies (mass is not conserved)",
        "returned_fraction",
        lambda s: s.precipitation_only,
        lambda value, c: value <= 1 + c["mass_tolerance"],
    ),
    Rule(
        "warming_earlier_timing",
        "warming with precipitation unchanged moves the centre of timing earlier",
        "warming does not bring the flow earlier in the year, so it has not learned snowmelt timing",
        "delta_centre_of_timing_days",
        _warming,
        lambda value, c: value < 0,
    ),
    Rule(
        "warming_no_more_flow",
        "warming with precipitation unchanged does not raise annual flow",
        "warming alone raises annual flow although no water is added and evaporation can only rise",
        "delta_flow_percent",
        _warming,
        lambda value, c: value <= 0,
    ),
    Rule(
        "elasticity_in_observed_band",
        "precipitation elasticity lies within the observed estimate's 5–95 % band",
        "its sensitivity to precipitation lies outside what the basin's own record shows",
        "elasticity",
        _all_year_precipitation,
        lambda value, c: c["elasticity_p05"] <= value <= c["elasticity_p95"],
    ),
)


def judge_run(rule: Rule, responses: dict[str, dict], scenarios: list[ClimateScenario],
              context: dict) -> dict:
    """One run against one rule: its value per applicable scenario and the scenarios it fails."""
    values, failed = {}, []
    for scenario in scenarios:
        if not rule.applies(scenario):
            continue
        value = responses[scenario.name][rule.metric]
        scenario_context = {**context, **context["scenarios"][scenario.name]}
        values[scenario.name] = value
        if value is None or not rule.passes(value, scenario_context):
            failed.append(scenario.name)
    return {"passed": not failed, "values": values, "failed": failed}


def judge_model(
    champion: dict[str, dict], replicates: list[dict[str, dict]], scenarios: list[ClimateScenario],
    context: dict,
) -> dict:
    """Every rule for one model: the champion's verdict and the share of replicates that pass.

    ``context`` holds ``mass_tolerance``, ``elasticity_p05``/``elasticity_p95`` and, per
    scenario name, its ``precipitation_change_percent``. A rule no scenario applies to is
    reported with ``applicable: False``.
    """
    verdicts = {}
    for rule in RULES:
        applicable = [s.name for s in scenarios if rule.applies(s)]
        entry: dict = {"statement": rule.statement, "failure": rule.failure, "metric": rule.metric}
        entry["scenarios"] = applicable
        entry["applicable"] = bool(applicable)
        if applicable:
            runs = [judge_run(rule, r, scenarios, context) for r in replicates]
            passed = sum(run["passed"] for run in runs)
            entry["champion"] = judge_run(rule, champion, scenarios, context)
            entry["replicates"] = {
                "passed": passed,
                "count": len(runs),
                "share": passed / len(runs) if runs else None,
                "failed": {str(i): run["failed"] for i, run in enumerate(runs) if run["failed"]},
            }
        verdicts[rule.key] = entry
    return verdicts
