"""``reports/probe_report.md`` from whatever fragments the probe stages wrote.

Each probe stage writes one Markdown fragment into ``reports/fragments/``;
this joins those present in a fixed order (known sections first, then any
others alphabetically, so nothing is silently dropped). Relative links in a
fragment are written relative to the fragment's folder and rewritten here to
stay valid from the assembled report's folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from hydroprobe.errors import DataError

#: Known fragments, in report order.
ORDER = ("training.md", "paper_cases.md", "climate.md")
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


def fragment_files(fragments_dir: Path) -> list[Path]:
    present = {path.name: path for path in Path(fragments_dir).glob("*.md")}
    known = [present.pop(name) for name in ORDER if name in present]
    return known + [present[name] for name in sorted(present)]


def assemble_report(fragments_dir: Path, out_path: Path) -> Path:
    """Write ``out_path`` from the fragments in ``fragments_dir``; return ``out_path``."""
    fragments_dir, out_path = Path(fragments_dir), Path(out_path)
    files = fragment_files(fragments_dir)
    if not files:
        raise DataError(
            f"no report fragments (*.md) in {fragments_dir}: run the probe stages "
            "(`hydroprobe probe paper`, `hydroprobe probe climate`) first"
        )
    parts = [_rebase(path.read_text().strip(), path.parent, out_path.parent) for path in files]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text("\n\n".join([TITLE, *parts]) + "\n")
    return out_path
