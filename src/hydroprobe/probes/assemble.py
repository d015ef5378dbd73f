"""``reports/probe_report.md`` from whatever fragments the probe stages wrote, one section per basin.

Each stage writes one Markdown fragment: a model's stages into
``models/<key>/reports/fragments/``, the comparison into ``reports/fragments/``.
A basin's report starts with the comparison (the verdict), then each model's
fragments under a heading of its own, the subject first, each folder's in a
fixed order (known sections first, then any others alphabetically, so
nothing is silently dropped), and is kept as
``reports/basins/<basin>.md`` with a copy of every figure it shows in
``reports/basins/<basin>/``: the next basin's run overwrites the shared
figures, not this snapshot. ``reports/probe_report.md`` then holds every
basin's snapshot, one section each. Relative links are rewritten to stay
valid from wherever the text lands.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from hydroprobe.errors import DataError
from hydroprobe.layout import BASIN_REPORTS, FRAGMENTS, FRAGMENTS_DIR, MODELS_DIR

#: Known fragments, in report order.
ORDER = (FRAGMENTS["training"], "imported_model.md", FRAGMENTS["comparison"], FRAGMENTS["paper"],
         FRAGMENTS["climate"])
BASINS_DIR = BASIN_REPORTS
TITLE = "# Probe report"
_LINK = re.compile(r"(\]\()([^)\s]+)(\))")


def _rebase(text: str, source_dir: Path, target_dir: Path) -> str:
    def relink(match: re.Match) -> str:
        target = match[2]
        if "://" in target or target.startswith(("#", "/", "mailto:")):
            return match[0]
        moved = os.path.relpath(source_dir / target, target_dir)
        return f"{match[1]}{Path(moved).as_posix()}{match[3]}"

    return _LINK.sub(relink, text)


def _demote(text: str, levels: int = 1) -> str:
    """Push every Markdown heading ``levels`` deeper (a section becomes a subsection)."""
    return re.sub(r"^(#+) ", lambda m: "#" * (len(m[1]) + levels) + " ", text, flags=re.MULTILINE)


def _snapshot_images(text: str, source_dir: Path, image_dir: Path) -> str:
    """Copy every local image ``text`` shows into ``image_dir``; point the links at the copies."""
    def copy(match: re.Match) -> str:
        target = match[2]
        source = source_dir / target
        if "://" in target or not source.is_file() or source.suffix.lower() not in (".png", ".svg", ".jpg"):
            return match[0]
        name = "_".join(Path(os.path.relpath(source.resolve(), image_dir.parents[2].resolve())).parts)
        image_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, image_dir / name)
        return f"{match[1]}{image_dir.name}/{name}{match[3]}"

    return _LINK.sub(copy, text)


def basin_report(
    root: Path, basin_name: str, basin_id: str, models: Sequence[str], imported: Sequence[str] = ()
) -> Path:
    """``reports/basins/<basin>.md``: the comparison, then each model and imported model under its own
    heading (an imported model's fragments live under ``imported/<name>/reports/fragments``)."""
    root = Path(root)
    out_path = root / BASINS_DIR / f"{basin_id}.md"
    parts = [_joined(root / FRAGMENTS_DIR, out_path.parent)]
    sections = [("Model", root / MODELS_DIR / name, name) for name in models]
    sections += [("Imported model", root / "imported" / name, name) for name in imported]
    for heading, base, name in sections:
        fragments = base / FRAGMENTS_DIR
        if fragment_files(fragments):
            parts.append(f"## {heading}: {name}\n\n" + _demote(_joined(fragments, out_path.parent)))
    text = "\n\n".join([f"# {basin_name}", *parts])
    image_dir = out_path.parent / basin_id
    shutil.rmtree(image_dir, ignore_errors=True)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(_snapshot_images(text, out_path.parent, image_dir) + "\n")
    return out_path


def _joined(fragments_dir: Path, target_dir: Path) -> str:
    files = fragment_files(fragments_dir)
    if not files:
        raise DataError(
            f"no report fragments (*.md) in {fragments_dir}: run the probe stages "
            "(`hydroprobe probe paper`, `hydroprobe probe climate`) first"
        )
    return "\n\n".join(_rebase(path.read_text().strip(), path.parent, target_dir) for path in files)


def combined_report(root: Path, out_path: Path, first: str) -> Path:
    """``out_path`` with every basin report in ``reports/basins/`` (``first`` leading), one section each."""
    root, out_path = Path(root), Path(out_path)
    reports = sorted((root / BASINS_DIR).glob("*.md"), key=lambda p: (p.stem != first, p.stem))
    if not reports:
        raise DataError(f"no basin reports in {root / BASINS_DIR}: run `hydroprobe report` after the probes")
    contents = ", ".join(f"[{p.read_text().splitlines()[0].lstrip('# ')}](#{_anchor(p)})" for p in reports)
    parts = [_demote(_rebase(p.read_text().strip(), p.parent, out_path.parent)) for p in reports]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text("\n\n".join([TITLE, f"Basins: {contents}.", *parts]) + "\n")
    return out_path


def _anchor(path: Path) -> str:
    title = path.read_text().splitlines()[0].lstrip("# ").strip().lower()
    return re.sub(r"[^a-z0-9 -]", "", title).replace(" ", "-")


def fragment_files(fragments_dir: Path) -> list[Path]:
    present = {path.name: path for path in Path(fragments_dir).glob("*.md")}
    known = [present.pop(name) for name in ORDER if name in present]
    return known + [present[name] for name in sorted(present)]
