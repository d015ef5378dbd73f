"""The known raw files, their sha256 sums and public origins, and how to fetch them.

The raw data are public observational files kept outside git. :func:`fetch`
puts exact copies into the raw data directory (the one ``data.dvc`` tracks):
from a local folder when there is one (``../shared/data`` next to the
clone), else from the file's public URL. Every copy is checked against the
sha256 below, so a truncated download or an edited file can never pass for
the real data, and a file is written under a temporary name and renamed only
once verified, so an interrupted fetch leaves no half-written file behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hydroprobe.errors import DataError

RAVEN = "https://raw.githubusercontent.com/Ouranosinc/raven-testdata/master"
NEURALHYDROLOGY = "https://raw.githubusercontent.com/neuralhydrology/neuralhydrology/master/test/test_data"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Source:
    """One raw file: where it goes under the raw dir, its sha256, where it comes from."""

    path: str
    sha256: str
    url: str | None


def _camels(path: str, sha256: str) -> Source:
    return Source(path, sha256, f"{NEURALHYDROLOGY}/{path}")


#: Every raw file the project knows, keyed by its path under the raw data directory.
SOURCES: dict[str, Source] = {
    source.path: source
    for source in (
        Source(
            "salmon_river/Salmon-River-Near-Prince-George_meteo_daily.nc",
            "68d234ae5a14051f8d0849ab204aa31c8d65dab4eaec65764306a23540cd8e9d",
            f"{RAVEN}/ostrich-gr4j-cemaneige/Salmon-River-Near-Prince-George_meteo_daily.nc",
        ),
        Source(
            "matapedia/Matapedia_meteo_data_stations.nc",
            "20892444705b504598cadb816694626a93d46a7edac89f6068bc4e476b21e451",
            f"{RAVEN}/matapedia/Matapedia_meteo_data_stations.nc",
        ),
        Source(
            "matapedia/Qobs_Matapedia_01BD009.nc",
            "d94e6776954b4e4d05ce185889799b255db7e300f9e438129f53cfde6cb85b07",
            f"{RAVEN}/matapedia/Qobs_Matapedia_01BD009.nc",
        ),
        Source(
            "matapedia/matapedia.geojson",
            "f57aa2325678e191c19c84101749493c5f7cfddf16c367400a6b5a3e6546aaca",
            f"{RAVEN}/matapedia/matapedia.geojson",
        ),
        _camels(
            "camels_us/basin_mean_forcing/daymet/01022500_lump_cida_forcing_leap.txt",
            "4cf26ec6c7f5405d7c31cfa2e7c01faad7802dae003768b86a520530740879e7",
        ),
        _camels(
            "camels_us/basin_mean_forcing/daymet/01547700_lump_cida_forcing_leap.txt",
            "bedda0efa0fea1689c041a4e82bc09e7a0ad1371c49ec29e5c2faeaae8b4b9d7",
        ),
        _camels(
            "camels_us/basin_mean_forcing/daymet/02064000_lump_cida_forcing_leap.txt",
            "3163c584c3f091dcd3d7c93292c5928918a315a15565501dd961cfba8ac0769c",
        ),
        _camels(
            "camels_us/basin_mean_forcing/daymet/03015500_lump_cida_forcing_leap.txt",
            "defa0726e41493b7b4525e86159aee9ad85e10c9a3fc346d7e53bbf11669a83d",
        ),
        _camels(
            "camels_us/camels_attributes_v2.0/camels_clim.txt",
            "6a3a80256afbaea13f59f279c174d3c010156b826ffb53a4cfb5508814404f5f",
        ),
        _camels(
            "camels_us/camels_attributes_v2.0/camels_hydro.txt",
            "7dcae3ea8c28e6485fc9e39b3c5e8bb509d6354ebe9b0b98873ec47fa36e3c41",
        ),
        _camels(
            "camels_us/camels_attributes_v2.0/camels_name.txt",
            "f3a85272cd934c6e12386db5f21979675fc891844250a335135786ad9a2de445",
        ),
        _camels(
            "camels_us/camels_attributes_v2.0/camels_topo.txt",
            "b64ca9923bcaccf21dde33137903797919e8d6732edd7849f8534e0ddcbec8e8",
        ),
        _camels(
            "camels_us/camels_attributes_v2.0/readme.txt",
            "fcdd3169b6b7c026358d605aee7acff419c332038fe41969afb93e4edac7370f",
        ),
        _camels(
            "camels_us/usgs_streamflow/01022500_streamflow_qc.txt",
            "b6d2a5397fbab6533555040ea916d9999dd2551594318fd19bbbb3f5d9f77d8d",
        ),
        _camels(
            "camels_us/usgs_streamflow/01547700_streamflow_qc.txt",
            "1eb1c9788834c53b9e63dafae5d85a6875f205f3e8a994fc22c937c58ddeec86",
        ),
        _camels(
            "camels_us/usgs_streamflow/02064000_streamflow_qc.txt",
            "c9045488f0232cb0c59abf5ff89181cbec4ce86e3357df07c2c2b0fcf3ac0836",
        ),
        _camels(
            "camels_us/usgs_streamflow/03015500_streamflow_qc.txt",
            "3c85ccbb3632e8a28231de99226e5f82868f8b603efffcf1a2164d459a27ac2d",
        ),
    )
}


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks (the netCDF files are megabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def shared_data_dir(repo_root: Path) -> Path:
    """``<repo root>/../shared/data``: where the data sit next to a clone (and in CI)."""
    return Path(repo_root).resolve().parent / "shared" / "data"


def _download(url: str, target: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(target, "xb") as out:
            shutil.copyfileobj(response, out, CHUNK)
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise DataError(
            f"{url}: download failed ({error}). Fix: connect to the internet, or pass "
            "--source-dir (data.source_dir) pointing at a folder that holds the raw files."
        ) from error


def _temporary(target: Path) -> Path:
    """A fresh name beside ``target``, so the final rename never crosses file systems."""
    return target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")


def _obtain(source: Source, target: Path, origin: Path | None) -> str:
    """Write ``source`` to ``target`` via a verified temp file; return where it came from."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary(target)
    try:
        if origin is not None:
            # copyfile, not copy2: the shared copies are read-only and their mode must not follow.
            shutil.copyfile(origin, temporary)
            where = str(origin)
        elif source.url is not None:
            _download(source.url, temporary)
            where = source.url
        else:
            raise DataError(
                f"{source.path}: no local copy and no public origin. Fix: pass --source-dir "
                "pointing at a folder that holds it."
            )
        actual = sha256(temporary)
        if actual != source.sha256:
            raise DataError(
                f"{source.path}: sha256 mismatch for the copy from {where}: expected "
                f"{source.sha256}, got {actual}. Fix: the source file is not the published one; "
                "fetch it again from its origin."
            )
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return where


def fetch(
    raw_dir: Path,
    source_dir: Path | None,
    repo_root: Path,
    progress: bool | Callable[[str], None] = True,
    force: bool = False,
) -> list[Path]:
    """Put every file of :data:`SOURCES` into ``raw_dir``, verified; return their paths.

    Each file comes from ``source_dir`` if given, else from
    ``<repo_root>/../shared/data`` if that folder exists and holds it, else
    from its public URL. A file already in ``raw_dir`` with the right hash is
    left alone; one with another hash is an error unless ``force``, because
    it may be someone's edit. ``progress`` prints one line per file (or is a
    callable that receives the lines).
    """
    report: Callable[[str], None]
    if callable(progress):
        report = progress
    elif progress:
        report = lambda line: print(line, flush=True)  # noqa: E731
    else:
        report = lambda line: None  # noqa: E731
    raw_dir = Path(raw_dir)
    local = Path(source_dir) if source_dir is not None else shared_data_dir(repo_root)
    if source_dir is not None and not local.is_dir():
        raise DataError(f"{local}: source directory not found. Fix: pass an existing folder.")
    fetched = []
    total = len(SOURCES)
    for number, source in enumerate(SOURCES.values(), start=1):
        target = raw_dir / source.path
        prefix = f"[{number}/{total}] {source.path}"
        if target.exists():
            actual = sha256(target)
            if actual == source.sha256:
                report(f"{prefix}: present, sha256 ok")
                fetched.append(target)
                continue
            if not force:
                raise DataError(
                    f"{target}: exists with sha256 {actual}, expected {source.sha256}. "
                    "Fix: move it away, or rerun with --force to replace it."
                )
        origin = local / source.path
        if not origin.is_file():
            if source_dir is not None:
                raise DataError(
                    f"{origin}: file not found in the source directory. Fix: pass a folder "
                    "with the raw data layout (e.g. ../shared/data)."
                )
            origin = None
        where = _obtain(source, target, origin)
        report(f"{prefix}: copied from {where}, sha256 ok")
        fetched.append(target)
    return fetched
