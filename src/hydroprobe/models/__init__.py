"""Model zoo: one file per model kind; :mod:`hydroprobe.models.kinds` is the table that names them."""

from __future__ import annotations

from hydroprobe.models.kinds import KINDS, ModelKind, build_model, kind_of

__all__ = ["KINDS", "ModelKind", "build_model", "kind_of"]
