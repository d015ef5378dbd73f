"""fetch(): verified copies, never a corrupt or silently replaced file; and the CLI around it."""

from __future__ import annotations

import io
import os
import shutil
import stat
import urllib.error
from collections.abc import Callable
from pathlib import Path

import pytest

from hydroprobe.cli.main import main
from hydroprobe.data import sources
from hydroprobe.data.sources import SOURCES, fetch, sha256
from hydroprobe.errors import DataError

SALMON = "salmon_river/Salmon-River-Near-Prince-George_meteo_daily.nc"
GEOJSON = "matapedia/matapedia.geojson"


def _leftovers(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.name.endswith(".part")]


def _lines() -> tuple[list[str], Callable[[str], None]]:
    lines: list[str] = []
    return lines, lines.append


CARAVAN = "caravan_camels_snow"
#: The manifests written when the caravan folder was assembled, and the folder it lists.
MANIFESTS = {"SHA256SUMS.timeseries": "timeseries", "SHA256SUMS.attributes": "attributes"}


def _is_documentation(path: Path) -> bool:
    """README.md and the SHA256SUMS.* manifests describe the shared folder; they are not data.

    They have no public origin (they were written when the folder was
    assembled), so SOURCES cannot list them; the manifests are checked
    against SOURCES line by line instead (below).
    """
    return path.name == "README.md" or path.name.startswith("SHA256SUMS.")


def test_table_matches_the_shared_data(shared_data: Path) -> None:
    on_disk = {
        path.relative_to(shared_data).as_posix()
        for path in shared_data.rglob("*")
        if path.is_file() and not _is_documentation(path)
    }
    assert on_disk == set(SOURCES)
    for relative, source in SOURCES.items():
        assert sha256(shared_data / relative) == source.sha256, relative
    assert SOURCES[SALMON].sha256 == ("68d234ae5a14051f8d0849ab204aa31c8d65dab4eaec65764306a23540cd8e9d")
    assert SOURCES[SALMON].url == (
        "https://raw.githubusercontent.com/Ouranosinc/raven-testdata/master/"
        "ostrich-gr4j-cemaneige/Salmon-River-Near-Prince-George_meteo_daily.nc"
    )
    assert all(source.url and source.url.startswith("https://") for source in SOURCES.values())


def test_caravan_sources_are_pinned_to_their_origin_commits() -> None:
    series = SOURCES[f"{CARAVAN}/timeseries/06224000.csv"]
    assert series.sha256 == "e594979d7a08b1eae7cd662dca7f993a165cf06b37d58ee910a18c48e292fddb"
    assert series.url == (
        "https://raw.githubusercontent.com/stsfk/generative_hydro_app/"
        "31616c2329f90b34e37ea247fc80f9ef8fdb4a2d/data/Caravan-CAMELS/06224000.csv"
    )
    topo = SOURCES[f"{CARAVAN}/attributes/camels_topo.txt"]
    assert topo.url == (
        "https://raw.githubusercontent.com/neuralhydrology/neuralhydrology/"
        "76d08502a8bb2c0433a93dd4b82dca2cb38605ea/test/test_data/camels_us/camels_attributes_v2.0/"
        "camels_topo.txt"
    )
    assert sum(path.startswith(f"{CARAVAN}/timeseries/") for path in SOURCES) == 35
    assert sum(path.startswith(f"{CARAVAN}/attributes/") for path in SOURCES) == 8


@pytest.mark.parametrize("manifest", sorted(MANIFESTS))
def test_caravan_manifests_agree_with_the_table(shared_data: Path, manifest: str) -> None:
    folder = f"{CARAVAN}/{MANIFESTS[manifest]}"
    listed = {}
    for line in (shared_data / CARAVAN / manifest).read_text(encoding="utf-8").splitlines():
        digest, name = line.split()
        listed[f"{folder}/{name}"] = digest
    in_table = {path: source.sha256 for path, source in SOURCES.items() if path.startswith(f"{folder}/")}
    assert listed == in_table


def test_fetch_copies_verified_writable_files_then_skips(shared_data: Path, tmp_path: Path) -> None:
    raw_dir = tmp_path / "data"
    lines, report = _lines()
    fetched = fetch(raw_dir, shared_data, tmp_path / "repo", progress=report)
    assert len(fetched) == len(SOURCES) == len(lines)
    assert all("copied from" in line for line in lines)
    for path in fetched:
        assert sha256(path) == SOURCES[path.relative_to(raw_dir).as_posix()].sha256
        # The shared copies are read-only; the project's must be writable by their owner.
        assert path.stat().st_mode & stat.S_IWUSR
    stamp = (raw_dir / SALMON).stat().st_mtime_ns

    lines, report = _lines()
    fetch(raw_dir, shared_data, tmp_path / "repo", progress=report)
    assert all("present, sha256 ok" in line for line in lines)
    assert (raw_dir / SALMON).stat().st_mtime_ns == stamp
    assert not _leftovers(raw_dir)


def test_fetch_defaults_to_shared_data_next_to_the_repo(shared_data: Path, tmp_path: Path) -> None:
    repo = tmp_path / "clone"
    repo.mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "data").symlink_to(shared_data)
    lines, report = _lines()
    fetched = fetch(repo / "data", None, repo, progress=report)
    assert len(fetched) == len(SOURCES)
    assert str(tmp_path / "shared" / "data") in lines[0]


def test_existing_file_with_another_hash_is_refused_unless_forced(shared_data: Path, tmp_path: Path) -> None:
    raw_dir = tmp_path / "data"
    fetch(raw_dir, shared_data, tmp_path, progress=False)
    edited = raw_dir / GEOJSON
    edited.write_text(edited.read_text().replace("2750.9", "2750.0"))
    edited_hash = sha256(edited)
    with pytest.raises(DataError) as error:
        fetch(raw_dir, shared_data, tmp_path, progress=False)
    message = str(error.value)
    assert "matapedia.geojson" in message
    assert edited_hash in message
    assert SOURCES[GEOJSON].sha256 in message
    assert "--force" in message
    assert sha256(edited) == edited_hash  # untouched

    fetch(raw_dir, shared_data, tmp_path, progress=False, force=True)
    assert sha256(edited) == SOURCES[GEOJSON].sha256


def _source_with_edit(shared_data: Path, tmp_path: Path, relative: str) -> Path:
    """A source folder linking every real file except ``relative``, which is an edited copy."""
    source = tmp_path / "source"
    for name in SOURCES:
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if name == relative:
            data = (shared_data / name).read_bytes()
            target.write_bytes(data.replace(b"UP_AREA", b"UP_AREB"))
        else:
            target.symlink_to(shared_data / name)
    return source


def test_source_with_wrong_hash_is_refused_and_leaves_nothing(shared_data: Path, tmp_path: Path) -> None:
    source = _source_with_edit(shared_data, tmp_path, GEOJSON)
    raw_dir = tmp_path / "data"
    with pytest.raises(DataError) as error:
        fetch(raw_dir, source, tmp_path, progress=False)
    message = str(error.value)
    assert "matapedia/matapedia.geojson: sha256 mismatch" in message
    assert f"expected {SOURCES[GEOJSON].sha256}" in message
    assert f"got {sha256(source / GEOJSON)}" in message
    assert not (raw_dir / GEOJSON).exists()
    assert not _leftovers(raw_dir)


def test_missing_file_in_source_dir(shared_data: Path, tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "salmon_river").mkdir(parents=True)
    shutil.copyfile(shared_data / SALMON, source / SALMON)
    with pytest.raises(DataError, match=r"Matapedia_meteo_data_stations\.nc: file not found"):
        fetch(tmp_path / "data", source, tmp_path, progress=False)


def test_interrupted_copy_leaves_no_file(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_copy(origin, target, *args, **kwargs):
        Path(target).write_bytes(Path(origin).read_bytes()[:1000])
        raise KeyboardInterrupt

    monkeypatch.setattr(sources.shutil, "copyfile", half_copy)
    raw_dir = tmp_path / "data"
    with pytest.raises(KeyboardInterrupt):
        fetch(raw_dir, shared_data, tmp_path, progress=False)
    assert not (raw_dir / SALMON).exists()
    assert not _leftovers(raw_dir)


def test_download_when_no_local_copy(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requested: list[str] = []

    def fake_urlopen(url: str, timeout: float):
        requested.append(url)
        relative = next(name for name, source in SOURCES.items() if source.url == url)
        return io.BytesIO((shared_data / relative).read_bytes())

    monkeypatch.setattr(sources.urllib.request, "urlopen", fake_urlopen)
    repo = tmp_path / "lonely"  # no ../shared/data beside it
    repo.mkdir()
    fetched = fetch(repo / "data", None, repo, progress=False)
    assert len(requested) == len(SOURCES)
    assert requested[0] == SOURCES[SALMON].url
    assert all(sha256(path) == SOURCES[path.relative_to(repo / "data").as_posix()].sha256 for path in fetched)


def test_offline_download_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(url: str, timeout: float):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(sources.urllib.request, "urlopen", offline)
    repo = tmp_path / "lonely"
    repo.mkdir()
    with pytest.raises(DataError) as error:
        fetch(repo / "data", None, repo, progress=False)
    message = str(error.value)
    assert SOURCES[SALMON].url in message
    assert "download failed" in message
    assert "--source-dir" in message
    assert not _leftovers(repo)
    assert not (repo / "data" / SALMON).exists()


# --- CLI --------------------------------------------------------------------------------------


@pytest.fixture
def project(repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A bare project folder with the real params.yaml and nothing beside it; cwd inside it."""
    root = tmp_path / "project"
    (root / "sub").mkdir(parents=True)
    shutil.copyfile(repo_root / "params.yaml", root / "params.yaml")
    monkeypatch.chdir(root / "sub")  # the root is found by walking up
    return root


def test_cli_fetch(project: Path, shared_data: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["data", "fetch", "--source-dir", str(shared_data)]) == 0
    out = capsys.readouterr().out
    assert f"[1/{len(SOURCES)}] {SALMON}: copied from" in out
    assert f"{len(SOURCES)} files verified in {project / 'data'}" in out
    assert "dvc status" not in out
    assert sha256(project / "data" / SALMON) == SOURCES[SALMON].sha256
    assert main(["data", "fetch", "--source-dir", str(shared_data)]) == 0
    assert "present, sha256 ok" in capsys.readouterr().out


def test_cli_fetch_error_is_one_line(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["data", "fetch", "--source-dir", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hydroprobe: error: ")
    assert "nowhere: source directory not found" in err
    assert os.linesep not in err.strip()


def test_cli_help(capsys: pytest.CaptureFixture) -> None:
    for command in (["data", "fetch", "--help"], ["data", "summary", "--help"]):
        with pytest.raises(SystemExit) as stop:
            main(command)
        assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "--source-dir DIR" in out
    assert "--force" in out
    assert "--basin ID" in out
