"""Spool folders of killed uploads are removed by the next upload; living ones never are."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from workmagic_provider.files import spool
from workmagic_provider.files.spool import spool_folder

_HOLDER = (  # loads spool.py alone: a holder starts fast, without the package's imports
    "import importlib.util, sys\n"
    "spec = importlib.util.spec_from_file_location('spool', sys.argv[2])\n"
    "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
    "with module.spool_folder(sys.argv[1]) as path:\n"
    "    open(path + '/part-0000.json.gz', 'wb').write(b'x' * 100000)\n"
    "    print(path, flush=True); sys.stdin.read()\n"
)


def _holder(root: Path) -> tuple[subprocess.Popen[str], Path]:
    """A process that holds a spool folder under ``root`` until its stdin closes."""
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(root), spool.__file__],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, Path(process.stdout.readline().strip())


def test_a_killed_runs_spool_is_removed_by_the_next_run(tmp_path: Path) -> None:
    killed, killed_path = _holder(tmp_path)
    living, living_path = _holder(tmp_path)
    try:
        os.kill(killed.pid, signal.SIGKILL)  # no finally block runs: the folder stays behind
        killed.wait(timeout=30)
        assert (killed_path / "part-0000.json.gz").exists()
        with spool_folder(tmp_path) as path:
            assert Path(path).is_dir()
            assert not killed_path.exists()
            assert (living_path / "part-0000.json.gz").exists()  # its owner still runs
        assert not Path(path).exists()  # the run's own spool goes at its end
    finally:
        living.communicate("", timeout=30)
    assert living.returncode == 0 and not living_path.exists()


def test_a_spool_without_its_lock_is_left_alone_until_it_is_old(tmp_path: Path) -> None:
    young = tmp_path / f"{spool.PREFIX}young"
    old = tmp_path / f"{spool.PREFIX}old"
    unrelated = tmp_path / "other-folder"
    for folder in (young, old, unrelated):
        folder.mkdir()
    hours_ago = time.time() - 2 * spool.ORPHAN_AGE_SECONDS
    os.utime(old, (hours_ago, hours_ago))
    assert spool.remove_abandoned(tmp_path) == [old.name]
    assert young.exists() and unrelated.exists()
