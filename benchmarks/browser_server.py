"""The server side of bench_browser: `streamlit run` started through a launcher that
timestamps the rerun request, the script run, the post-run garbage collection and the
`script_finished` message, so they can be put on the key press's time line.

The launcher runs in the server's own process (`python benchmarks/browser_server.py --serve
EVENTS_FILE -- STREAMLIT_ARGS...`); it imports only the standard library and Streamlit, so the
server holds the same objects as a plain `streamlit run`. `bench_upload.py` uses
`running_server` too.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def serve(events_file: Path, streamlit_args: list[str]) -> None:
    """Run the Streamlit CLI in this process, logging server-side events as JSON lines.

    Wrappers around five Streamlit internals, each adding one `time.time()` and a line
    write: the rerun request arriving from the browser (`AppSession.handle_backmsg`), the
    script run (`ScriptRunner._run_script`), the end of the script body
    (`ScriptRunner._on_script_finished`), the post-run `gc.collect(2)`, and the
    `script_finished` message handed to the websocket (`Runtime._send_message`).
    """
    import gc

    from streamlit.runtime import app_session, runtime
    from streamlit.runtime.scriptrunner import script_runner

    out = events_file.open("a", buffering=1)

    def record(event: str) -> None:
        out.write(json.dumps({"ev": event, "t": time.time()}) + "\n")

    session_cls = app_session.AppSession
    runner_cls = script_runner.ScriptRunner
    handle_backmsg = session_cls.handle_backmsg
    run_script = runner_cls._run_script
    on_script_finished = runner_cls._on_script_finished

    def timed_handle_backmsg(self: Any, msg: Any) -> None:
        if msg.WhichOneof("type") == "rerun_script":
            record("rerun_request")
        handle_backmsg(self, msg)

    def timed_run_script(self: Any, rerun_data: Any) -> None:
        record("run_start")
        try:
            run_script(self, rerun_data)
        finally:
            record("run_end")

    def timed_on_script_finished(self: Any, *args: Any, **kwargs: Any) -> None:
        record("script_end")
        on_script_finished(self, *args, **kwargs)

    class TimedGC:
        def __getattr__(self, name: str) -> Any:
            return getattr(gc, name)

        def collect(self, *args: Any) -> int:
            record("gc_start")
            try:
                return gc.collect(*args)
            finally:
                record("gc_end")

    send_message = runtime.Runtime._send_message

    def timed_send_message(self: Any, session_info: Any, msg: Any) -> None:
        send_message(self, session_info, msg)
        if msg.WhichOneof("type") == "script_finished":
            record("finished_sent")

    runtime.Runtime._send_message = timed_send_message  # type: ignore[method-assign]
    session_cls.handle_backmsg = timed_handle_backmsg  # type: ignore[method-assign]
    runner_cls._run_script = timed_run_script  # type: ignore[method-assign]
    runner_cls._on_script_finished = timed_on_script_finished  # type: ignore[method-assign]
    script_runner.gc = TimedGC()  # type: ignore[assignment]

    skip_elements([name for name in os.environ.get(SKIP_ENV, "").split(",") if name])

    from streamlit.web import cli

    sys.argv = ["streamlit", *streamlit_args]
    cli.main()


SKIP_ENV = "BENCH_SKIP_ELEMENTS"  # comma-separated Streamlit element names (--skip-element)


def skip_elements(names: list[str]) -> None:
    """A diagnosis, never a figure of the app as it is: each named element (`st.NAME` and
    `container.NAME`) draws an empty placeholder instead, so that a run with and without it
    shows what the element costs, from the script's call to the browser's drawing."""
    if not names:
        return
    import types

    import streamlit
    from streamlit.delta_generator import DeltaGenerator

    def placeholder(self: Any, *args: Any, **kwargs: Any) -> Any:
        return self.empty()

    for name in names:
        if not callable(getattr(DeltaGenerator, name, None)):
            raise SystemExit(f"--skip-element: Streamlit has no element {name!r}")
        setattr(DeltaGenerator, name, placeholder)
        # `st.NAME` is a method bound to the main container when Streamlit is imported.
        setattr(streamlit, name, types.MethodType(placeholder, streamlit._main))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A `streamlit run` of one script; its log and its event lines under `workdir`."""

    def __init__(self, script: Path, cwd: Path, env: dict[str, str], workdir: Path, name: str, options: list[str]):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{name}.log"
        self.events = workdir / f"{name}.events.jsonl"
        self.events.write_text("")
        self._events_offset = 0
        args = ["run", str(script), "--server.port", str(self.port), "--server.address", "127.0.0.1"]
        args += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
        for option in options:
            key, _, value = option.partition("=")
            args += [f"--{key}", value]
        cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", str(self.events), "--", *args]
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=self._log_file, stderr=subprocess.STDOUT)

    def wait_healthy(self, timeout_s: float = 90.0) -> float:
        started = time.perf_counter()
        deadline = time.monotonic() + timeout_s
        while True:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.base}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start:\n{self.log.read_text()}")
            time.sleep(0.2)

    def new_events(self) -> list[dict[str, Any]]:
        with self.events.open("rb") as fh:
            fh.seek(self._events_offset)
            data = fh.read()
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits for the next call
        self._events_offset += len(complete)
        return [json.loads(line) for line in complete.decode().splitlines() if line.strip()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log_file.close()

    def check_log(self) -> None:
        text = self.log.read_text()
        if "Traceback" in text:
            raise RuntimeError(f"the server logged a traceback ({self.log}):\n{text[-3000:]}")


@contextlib.contextmanager
def running_server(
    script: Path, cwd: Path, env: dict[str, str], workdir: Path, name: str, options: list[str]
) -> Iterator[Server]:
    server = Server(script, cwd, env, workdir, name, options)
    try:
        startup_s = server.wait_healthy()
        print(f"  server up on port {server.port} in {startup_s:.1f} s", flush=True)
        yield server
    finally:
        server.stop()
    server.check_log()


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] != "--serve" or argv[2] != "--":
        raise SystemExit("usage: browser_server.py --serve EVENTS_FILE -- STREAMLIT_ARGS...")
    serve(Path(argv[1]), argv[3:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
