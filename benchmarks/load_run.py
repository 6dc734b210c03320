"""How bench_load runs its children: each load in a fresh process, timed from here, its peak
RSS from `os.wait4` and its private and file-backed memory polled from /proc, with the
environment a user's shell would give it.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_common import ROOT
from load_data import BAD_ACTIVITY, sha256
from load_memory import _reset_hwm, proc_status, read_status

# `import polars` writes its own allocator setting into os.environ ("dirty_decay_ms:500,
# muzzy_decay_ms:1000", plus any value already there), should this process import it. A child
# inheriting that runs `python -m kpi load` with the CLI's setting all the same (kpi/__main__.py
# adds its own after Polars'), but the other children would not start as a user's shell
# does, so children get the variable as it was when this script started (usually unset).
MALLOC_VAR = "_RJEM_MALLOC_CONF"
MALLOC_CONF_AT_START = os.environ.get(MALLOC_VAR)
# How often run_child reads /proc/PID/status of a running child.
POLL_S = 0.002
# The children of this script are bench_load.py's own modes (--child, --make-data).
BENCH_LOAD = Path(__file__).resolve().with_name("bench_load.py")


def child_env() -> dict[str, str]:
    """This process's environment with the allocator variable as it was at the start."""
    env = {k: v for k, v in os.environ.items() if k != MALLOC_VAR}
    if MALLOC_CONF_AT_START is not None:
        env[MALLOC_VAR] = MALLOC_CONF_AT_START
    return env


def run_child(cmd: list[str], env_extra: dict[str, str] | None = None, keep: int = 4000) -> dict[str, Any]:
    """Run one process; its wall time, exit code, output (the last `keep` characters), peak RSS
    (`os.wait4`: that process's own, Linux/macOS) and, on Linux, the peaks of its private and
    file-backed memory (`/proc/PID/status` read every POLL_S while it runs)."""
    env = {**child_env(), **(env_extra or {})}
    # Linux folds the high-water RSS of the process that execs into the new program's
    # ru_maxrss, so the parent resets its mark before each start (it stays far below a
    # load's peak: no data in it, the data made in a child); what it was is recorded.
    parent_hwm = proc_status().get("VmHWM")
    _reset_hwm()
    polled: dict[str, float] = {}
    samples = 0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, env=env)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            found = read_status(process.pid)
            if found:  # empty once the process has exited and is waiting to be reaped
                samples += 1
                for key, value in found.items():
                    polled[key] = max(polled.get(key, 0.0), value)
            time.sleep(POLL_S)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    scale = 1024.0 if sys.platform != "darwin" else 1024.0 * 1024.0  # ru_maxrss: KiB on Linux, bytes on macOS
    return {
        "cmd": [str(c) for c in cmd],
        "env": env_extra or {},
        "exit": process.returncode,
        "wall_s": wall,
        "peak_rss_mb": usage.ru_maxrss / scale,
        # Peaks of the samples (each key on its own: they need not peak at the same moment).
        # RssAnon: private memory (heap, stacks), what the load allocates. RssFile: file-backed
        # pages (the libraries' code and read-only data), shared, the same at any data size.
        # VmHWM: the kernel's own high-water RSS of the new program (a check on ru_maxrss).
        "peak_private_mb": polled.get("RssAnon"),
        "peak_file_mb": polled.get("RssFile"),
        "peak_shmem_mb": polled.get("RssShmem"),
        "peak_rss_sampled_mb": polled.get("VmRSS"),
        "hwm_polled_mb": polled.get("VmHWM"),
        "samples": samples,
        "sample_every_ms": 1000 * wall / samples if samples else None,
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "parent_hwm_mb_before": parent_hwm,
        "stdout": stdout[-keep:],
        "stderr": stderr[-keep:],
    }


def cli_load(src: str, db: Path, mapping_file: str | None = None, extra: list[str] | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "kpi", "load", src, "--db", str(db)]
    if mapping_file:
        cmd += ["--mapping", mapping_file]
    return cmd + (extra or [])


def child_cmd(kind: str, source: str, src: str, db: Path, mapping_file: str | None) -> list[str]:
    cmd = [sys.executable, str(BENCH_LOAD), "--child", kind, "--source", source, "--src", src]
    cmd += ["--db", str(db)]
    return cmd + (["--mapping", mapping_file] if mapping_file else [])


def run_phases(cmd: list[str], env_extra: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a child of this script; its JSON report (the last line of its output)."""
    run = run_child(cmd, env_extra, keep=1 << 30)
    if run["exit"] != 0:
        raise RuntimeError(f"child failed ({run['exit']}): {' '.join(run['cmd'])}\n{run['stderr']}")
    return json.loads(run["stdout"].strip().splitlines()[-1])


def refused_load(data: dict[str, Any], db: Path, workdir: Path) -> dict[str, Any]:
    """Load the spoiled CSV over the live database `db`: one problem, nothing changed."""

    def state() -> dict[str, Any]:
        history = db.with_name(db.name + ".history")
        listing = sorted((p.name, p.stat().st_size) for p in history.iterdir()) if history.is_dir() else []
        folder = sorted(p.name for p in db.parent.iterdir())
        return {"sha256": sha256(db), "size": db.stat().st_size, "history": listing, "folder": folder}

    before = state()
    problems_csv = workdir / "refused-problems.csv"
    problems_csv.unlink(missing_ok=True)
    run = run_child(cli_load(data["folders"]["refused"], db, extra=["--problems-csv", str(problems_csv)]))
    after = state()
    with problems_csv.open(newline="", encoding="utf-8") as handle:
        problems = list(csv.DictReader(handle))
    expected = data["refused"]
    one_right = (
        len(problems) == 1
        and problems[0]["file"] == "activities.csv"
        and problems[0]["row"] == str(expected["row"])
        and problems[0]["column"] == "activity"
        and problems[0]["value"] == BAD_ACTIVITY
    )
    lines = [line.strip() for line in run["stderr"].splitlines() if line.strip()]
    return {
        **run,
        "problems": problems,
        "reported_one_right_problem": one_right,
        "stderr_lines": lines[:4],
        "db_identical": before == after,
        "before": before,
        "after": after,
    }
