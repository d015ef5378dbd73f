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
#: Caravan forcing + CAMELS streamflow of 35 snow-dominated CAMELS-US basins (Kratzert et al. 2023),
#: pinned to a commit so the bytes behind the sha256 below can never move.
CARAVAN = (
    "https://raw.githubusercontent.com/stsfk/generative_hydro_app/"
    "31616c2329f90b34e37ea247fc80f9ef8fdb4a2d/data/Caravan-CAMELS"
)
#: The CAMELS attribute tables shipped beside them, also pinned to a commit.
CARAVAN_ATTRIBUTES = (
    "https://raw.githubusercontent.com/neuralhydrology/neuralhydrology/"
    "76d08502a8bb2c0433a93dd4b82dca2cb38605ea/test/test_data/camels_us/camels_attributes_v2.0"
)
CARAVAN_DIR = "caravan_camels_snow"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Source:
    """One raw file: where it goes under the raw dir, its sha256, where it comes from."""

    path: str
    sha256: str
    url: str | None


def _camels(path: str, sha256: str) -> Source:
    return Source(path, sha256, f"{NEURALHYDROLOGY}/{path}")


def _caravan_series(gauge: str, sha256: str) -> Source:
    return Source(f"{CARAVAN_DIR}/timeseries/{gauge}.csv", sha256, f"{CARAVAN}/{gauge}.csv")


def _caravan_attributes(name: str, sha256: str) -> Source:
    return Source(f"{CARAVAN_DIR}/attributes/{name}", sha256, f"{CARAVAN_ATTRIBUTES}/{name}")


#: (gauge id, sha256) of every ``caravan_camels_snow/timeseries/<gauge>.csv``.
CARAVAN_SERIES = (
    ("06224000", "e594979d7a08b1eae7cd662dca7f993a165cf06b37d58ee910a18c48e292fddb"),
    ("06289000", "b53a78ebce9d2d427f1508e99961902391af744fd8105e865f8829f5a5c22f59"),
    ("06622700", "ed8de1b5237b2fac3aa89bc81a6654241b7caa4ed286ad69f41771e365e2def0"),
    ("06623800", "3e29a25461e82931791dab2a2d0e839af00188303e1273b9ee2e548b1a107116"),
    ("06632400", "2e1f4947be2d9027697701d8ba405ae0f7ce2a8d29f659c1f2f89d0fcda0a594"),
    ("08269000", "9cd7c2010bdf0034e3c0ade9d67e4a0b98ea00da00058ed57b630bf9c2222307"),
    ("08377900", "129e300571627ade90c3fb24a82ca855810e766e6d20f80e592f496b78941bd9"),
    ("09081600", "b1cdc7122ece7dbf9b9da7415efbd2c05f1be78c408418a9c623cda6beae4365"),
    ("09210500", "854ce4ace2914e330a2301bd61af83fa9fb93691fc21aeb78d72616ff345b34b"),
    ("09223000", "b9f36d9763d5cd6f2418977c8cba79796cf4e5f094a7ca759f73013264c21357"),
    ("09312600", "f6f1036da4ebfc0e9bb0b6715f3e2677d77d4b1c0bd3d1fb7116d3dd15876dfe"),
    ("09352900", "862e43d5c97de688c230811479395659c429440855b08f45ba017f0c30fd491d"),
    ("09404450", "f98e54ca1b94ebbe715329769b90f1b268cbd64b6307cb6a68c6c6efb38d8930"),
    ("10172700", "071cfa413eff888112d7e1c7817b45a16a36b5b4a647c70206b4e7682377f8a2"),
    ("10173450", "de9466418751f109b0fc81e88cc4113cca2c105ae2dee118b117c16db38b906b"),
    ("10205030", "9209fdbfc489d018fff5a131036c2818f99292ecbd3762b8f3ff60e583662535"),
    ("10329500", "655c2366e57dad1b1b862e6a123aa650aa69cd91d377b620c0e796d33538f193"),
    ("10396000", "b14f6dec101743b0684791e48b57d1090bacba737de46b481acc114e1cb05f9a"),
    ("11230500", "7c0a73c8ac098d4f1875c9369a4045fdaf1931008408262ca4865118221978ae"),
    ("11264500", "adb8a137f750a53d3587f43baeb26cb34a23b51595cd25e78b44aacd1e977959"),
    ("11523200", "462ff417ade71745881a34c119becbb906914031113e2d6bc0f3966146b590a0"),
    ("12048000", "e1c816b3d9e874d904b924abf2b2dfc07eeb609c5578c9f8f1da4b2f774b25a1"),
    ("12092000", "38564c64dbb2945ffd20901c862027dd006973dc1d6676ed8b3d301299b15251"),
    ("12175500", "f0d9fbcb85d590d83becba43fa9439f69c63fbf98497cd0c6fcc668bdf1e2946"),
    ("12186000", "e6181e77e81a92522119fe6e3e721d3a3d342d9f62c415c752075cd75c7bd6ad"),
    ("12390700", "a2e10eec79939d7de7126d476d4a7777183cef4e7339e8a1403a02bc82ccf961"),
    ("12411000", "04805c6781284bea10a232921739973c79f3a05afbcc60d3f138f36fc93fefa4"),
    ("12451000", "b7d8f5ca7214e9c34bb359723cce1e7cbb2ef621069339833267132e0ba8a6cb"),
    ("13011500", "78e926a6a5feffdcdaba68008547a07228b051263246858bcda24bf3b9b18a76"),
    ("13011900", "765864a24438229e754cd0200e15eaf4c476a72107ff4a4d07f40e71fa832224"),
    ("13023000", "aecce9413116d0783ac2e0eaebba634fbf3d79235a880b2006692efa4add756c"),
    ("13083000", "c6b0089fc6187f4b2dc6c27abca26031ccc3d2d6fe4829a0e20abac5a3b58726"),
    ("13161500", "494e02f3dda9c449c48265b0de90b0027de555d0d30d014da9cb44a2a1b43630"),
    ("13235000", "951315d6bb2eb77358536dd74c0e747ba2d3d13c4d74831691ff60f9703ca70e"),
    ("13313000", "8edced03fdd06ef8b457ba278b9324475eb397eae35bd0c4038173a54a40f4e0"),
)

#: (file name, sha256) of every ``caravan_camels_snow/attributes/<name>``.
CARAVAN_ATTRIBUTE_FILES = (
    ("camels_clim.txt", "6a3a80256afbaea13f59f279c174d3c010156b826ffb53a4cfb5508814404f5f"),
    ("camels_geol.txt", "2ffe3871541b93bde02f72df6c34933cb91edb45af363fd7d50c3eaa7da0b5e6"),
    ("camels_hydro.txt", "7dcae3ea8c28e6485fc9e39b3c5e8bb509d6354ebe9b0b98873ec47fa36e3c41"),
    ("camels_name.txt", "f3a85272cd934c6e12386db5f21979675fc891844250a335135786ad9a2de445"),
    ("camels_soil.txt", "2acabec448fda2d7d93c2182a8a148e0f6a2dfc40f6f0944ec09eda6eeea0a6d"),
    ("camels_topo.txt", "b64ca9923bcaccf21dde33137903797919e8d6732edd7849f8534e0ddcbec8e8"),
    ("camels_vege.txt", "ea97f5d91a2f5acccef21df08417729aade51afe9a2651ab30c2990e7ad63d74"),
    ("readme.txt", "fcdd3169b6b7c026358d605aee7acff419c332038fe41969afb93e4edac7370f"),
)


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
        *(_caravan_series(gauge, digest) for gauge, digest in CARAVAN_SERIES),
        *(_caravan_attributes(name, digest) for name, digest in CARAVAN_ATTRIBUTE_FILES),
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
