"""Any MLflow model that turns daily forcing windows into discharge, as a probe simulator.

The contract ``hydroprobe probe … --from-mlflow URI`` expects of a model, so a
model trained with any library can be probed once it is logged this way:

* it loads with :func:`mlflow.pyfunc.load_model` (``models:/NAME@ALIAS``,
  ``models:/NAME/VERSION`` or ``runs:/RUN_ID/PATH``);
* its signature's inputs are two named tensors, ``precipitation`` (basin-mean
  daily precipitation, mm/d) and ``temperature`` (daily mean air temperature,
  °C), float32 of shape ``(-1, W)``: ``n`` windows of the last ``W`` days, oldest
  day first. ``W``, the model's input window, is read from the signature;
  other tensor names can be mapped (``--input precipitation=NAME``);
* ``predict({"precipitation": P, "temperature": T})`` returns ``n`` discharges
  in m³/s (shape ``(n,)`` or ``(n, 1)``), each the discharge on its window's last day.

:func:`contract_signature` builds that signature. The registry's name, version
and run are returned as provenance, which the probe runs carry as tags.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import mlflow
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types import Schema, TensorSpec

from hydroprobe.data.basin import INPUTS
from hydroprobe.errors import ConfigError, HydroprobeError
from hydroprobe.models.imported.windows import WindowedForcingSimulator
from hydroprobe.tracking import store


def contract_signature(window: int, names: Mapping[str, str] | None = None) -> ModelSignature:
    """The signature of a model that follows the contract, with input window ``window`` days."""
    names = {variable: (names or {}).get(variable) or variable for variable in INPUTS}
    inputs = Schema([TensorSpec(np.dtype(np.float32), (-1, window), names[v]) for v in INPUTS])
    return ModelSignature(inputs=inputs, outputs=Schema([TensorSpec(np.dtype(np.float64), (-1,))]))


def _window(signature: ModelSignature | None, names: dict[str, str], uri: str) -> int:
    """The input window the signature declares, or an error that states the contract."""
    contract = ("two named float32 tensors 'precipitation' (mm/d) and 'temperature' (°C) of shape "
                "(-1, window); see hydroprobe.tracking.mlflow_pyfunc")
    if signature is None or signature.inputs is None or not signature.inputs.is_tensor_spec():
        raise ConfigError(f"{uri}: the model's signature must take {contract}")
    specs = {spec.name: spec for spec in signature.inputs.inputs}
    missing = [names[v] for v in INPUTS if names[v] not in specs]
    if missing:
        raise ConfigError(
            f"{uri}: the signature has inputs {', '.join(map(str, specs))} but no {', '.join(missing)}; "
            f"map them with --input precipitation=NAME / --input temperature=NAME, or log it with {contract}"
        )
    shapes = {tuple(specs[names[v]].shape) for v in INPUTS}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2 or next(iter(shapes))[1] < 1:
        raise ConfigError(f"{uri}: input shapes {sorted(shapes)} do not follow the contract: {contract}")
    return int(next(iter(shapes))[1])


def registry_provenance(uri: str) -> dict[str, str]:
    """Name, version and run of a ``models:/`` URI (run of a ``runs:/`` URI), for the probe runs' tags."""
    tags = {"source": "mlflow", "model_uri": uri}
    client = MlflowClient()
    if uri.startswith("runs:/"):
        return {**tags, "run_id": uri.removeprefix("runs:/").split("/", 1)[0]}
    if not uri.startswith("models:/"):
        return tags
    reference = uri.removeprefix("models:/")
    try:
        if "@" in reference:
            name, alias = reference.split("@", 1)
            version = client.get_model_version_by_alias(name, alias)
        else:
            name, number = reference.split("/", 1)
            version = client.get_model_version(name, number)
    except (MlflowException, ValueError) as error:
        raise HydroprobeError(f"{uri}: not in the model registry ({error})") from error
    return {**tags, "registered_model": version.name, "registered_version": str(version.version),
            "run_id": version.run_id or ""}


def load_mlflow_model(
    uri: str, inputs: Mapping[str, str] | None = None, root: Path | None = None
) -> tuple[WindowedForcingSimulator, dict[str, str]]:
    """``uri`` as a simulator (after checking its signature against the contract) and its provenance."""
    store.configure(root)
    names = {variable: (inputs or {}).get(variable) or variable for variable in INPUTS}
    provenance = registry_provenance(uri)
    try:
        model = mlflow.pyfunc.load_model(uri)
    except MlflowException as error:
        raise HydroprobeError(f"{uri}: cannot load it as an MLflow pyfunc model ({error})") from error
    window = _window(model.metadata.signature, names, uri)

    def predict(precipitation: np.ndarray, temperature: np.ndarray) -> np.ndarray:
        batch = {names["precipitation"]: np.ascontiguousarray(precipitation, dtype=np.float32),
                 names["temperature"]: np.ascontiguousarray(temperature, dtype=np.float32)}
        return np.asarray(model.predict(batch), dtype=np.float64)

    label = provenance.get("registered_model", uri)
    version = provenance.get("registered_version")
    name = f"{label} v{version}" if version else label
    return WindowedForcingSimulator(name=name, predict=predict, window=window), provenance
