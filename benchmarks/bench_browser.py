"""What a person feels: a sidebar slider move timed in a real browser, key press to screen.

Run from the repository root:

    python benchmarks/bench_browser.py [--sizes 2000 20000] [--repeat 15] [--out FILE.json]

`bench_core.py` times the script run under AppTest (no server, no websocket, no browser).
This benchmark starts the real server (`streamlit run`, headless) and drives Chromium with
Playwright, for both sides of the target ("a page rerun at 20,000 partners stays within twice
the time Streamlit needs for a one-slider page"):

- the baseline: a one-slider script (`st.slider` + `st.write(f"value {v}")`), measured
  before and after the app;
- the app on the bench_core demo database of each size: the "Trainings needed" sidebar
  slider on the Overview page (watching the "Activation" metric) and on the Tiers page
  (watching the "N of N partners shown: reward X ..." line), on each of its two tabs: the
  partner list (the page as opened, read for the target) and the engagement chart.

Every move is a real key press on the focused slider thumb: `--repeat` moves alternating
ArrowRight / ArrowLeft between two values (each a real change; the watched text is checked
against the value's text every time), then `--fresh` ArrowRight moves to values the session
has not shown yet (Streamlit's browser-side message cache cannot help there). Inside the
page, `performance.now()` is taken in a capturing keydown listener (the press as the page
sees it), then

- **text**: the animation frame after the watched text changed in the DOM (a
  MutationObserver sees the change; that frame is when it can be on screen);
- **idle**: the animation frame after the rerun's `script_finished` message arrived on the
  websocket and the app shows `data-test-script-state="notRunning"` (the status widget's
  running icon only appears after 500 ms, so it is not a usable signal);
- **settled**: the last DOM mutation before 300 ms without any (charts still being redrawn).

The server is `streamlit run` started through a small launcher in this file (`--serve`) that
timestamps, with the wall clock, the rerun request arriving, the script run, the garbage
collection Streamlit runs after every script run (`runner.postScriptGC`) and the
`script_finished` message handed to the websocket. The page's `performance.timeOrigin` puts
those on the key press's time line (same machine, same clock), which shows where the time
goes: browser before the request, server script, server after the script, websocket,
browser rendering (main-thread tasks over 50 ms, from the Long Tasks API).

It prints Markdown tables and writes every figure, raw samples included, to a JSON file.
See benchmarks/README.md, section "bench_browser.py: slider move to screen".
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "benchmarks" / "out"
APP = ROOT / "app.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}
TARGET_SIZE = 20_000
TARGET_RATIO = 2.0
ONE_SLIDER = 'import streamlit as st\n\nv = st.slider("x", 0, 10, 1, key="x")\nst.write(f"value {v}")\n'
SLIDER_LABEL = "Trainings needed"
LOAD_TIMEOUT_MS = 180_000
MOVE_TIMEOUT_MS = 60_000
SETTLE_MAX_MS = 5_000
PACKAGES = ("streamlit", "playwright", "polars", "duckdb", "altair", "pyarrow")

# What each page shows that a threshold move changes (read by `__bench.text` below).
WATCH = {
    "baseline": {"kind": "markdown", "contains": "value "},
    "overview": {"kind": "metric", "label": "Activation"},
    "tiers": {"kind": "markdown", "contains": "partners shown"},
    "tiers_chart": {"kind": "markdown", "contains": "partners shown"},
    "roi": {"kind": "metric", "label": "Cost per activated partner"},
    "recurring": {"kind": "markdown", "contains": "split by today"},
    "engagement": {"kind": "metric", "label": "Look-busy partners"},
    "scorecard": {"kind": "markdown", "contains": "(needs "},  # the trainings criterion names its threshold
}
# page -> (URL path, heading, what it draws). Tiers builds only its open tab: the partner list
# (the default, read for the target) or the engagement chart (measured too, reported beside it).
PAGES = {
    "overview": ("/", "Program overview", ("chart",)),
    "tiers": ("/tiers", "Partner tiers", ("table",)),
    "tiers_chart": ("/tiers?tiers_tab=Engagement+chart", "Partner tiers", ("chart",)),
    "roi": ("/roi", "Return on investment", ("chart",)),
    "recurring": ("/recurring", "Recurring revenue", ("chart",)),
    "engagement": ("/engagement", "Engagement", ("chart",)),
    "scorecard": ("/scorecard?scorecard_partner=P00042", "Partner scorecard", ("chart",)),
}
TARGET_PAGES = ("overview", "tiers")
LABELS = {
    "overview": "Overview",
    "tiers": "Tiers (list tab)",
    "tiers_chart": "Tiers (chart tab)",
    "roi": "ROI",
    "recurring": "Recurring revenue",
    "engagement": "Engagement",
    "scorecard": "Partner scorecard",
}


# --- the server launcher (`--serve`): `streamlit run` with timestamps ------------------------------


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

    from streamlit.web import cli

    sys.argv = ["streamlit", *streamlit_args]
    cli.main()


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


# --- in the page: websocket timestamps, text readers, one timed move ---------------------------

INIT_SCRIPT = r"""
(() => {
  if (window.__bench) return;
  const B = (window.__bench = { ws: [], longTasks: [] });
  // Main-thread tasks over 50 ms (script, style, layout, paint of the page).
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) B.longTasks.push([e.startTime, e.duration]);
    }).observe({ type: "longtask" });
  } catch (e) { B.longTasks = null; }

  // The status of a ForwardMsg's top-level `script_finished` field (6, varint), or null.
  function finishedStatus(data) {
    if (!(data instanceof ArrayBuffer)) return null;
    const b = new Uint8Array(data);
    let i = 0;
    const varint = () => {
      let v = 0, shift = 0, x;
      do {
        if (i >= b.length) throw new Error("truncated");
        x = b[i++];
        v += (x & 0x7f) * 2 ** shift;
        shift += 7;
      } while (x & 0x80);
      return v;
    };
    try {
      while (i < b.length) {
        const tag = varint(), field = Math.floor(tag / 8), wire = tag & 7;
        if (wire === 0) { const v = varint(); if (field === 6) return v; }
        else if (wire === 2) { const n = varint(); i += n; }  // not `i += varint()`: i is read first
        else if (wire === 1) i += 8;
        else if (wire === 5) i += 4;
        else return null;
      }
    } catch (e) { return null; }
    return null;
  }

  const Native = window.WebSocket;
  class TimedWebSocket extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => {
        const t = performance.now();
        const bytes = e.data.byteLength ?? e.data.size ?? e.data.length ?? 0;
        const m = { dir: "in", t, bytes, finished: finishedStatus(e.data) };
        B.ws.push(m);
        if (B.onMessage) B.onMessage(m);
      });
    }
    send(data) {
      B.ws.push({ dir: "out", t: performance.now(), bytes: data.byteLength ?? data.length ?? 0 });
      return super.send(data);
    }
  }
  window.WebSocket = TimedWebSocket;

  B.text = (spec) => {
    if (spec.kind === "metric") {
      for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
        const label = m.querySelector('[data-testid="stMetricLabel"]');
        if (label && label.textContent.trim() === spec.label) {
          const value = m.querySelector('[data-testid="stMetricValue"]');
          return value ? value.textContent.trim() : null;
        }
      }
      return null;
    }
    // Markdown, and captions (in Streamlit 1.67 a caption is not a markdown container).
    const texts = '[data-testid="stMarkdownContainer"], [data-testid="stCaptionContainer"]';
    for (const m of document.querySelectorAll(texts)) {
      if (m.textContent.includes(spec.contains)) return m.textContent.trim();
    }
    return null;
  };

  B.state = () => document.querySelector('[data-testid="stApp"]')?.getAttribute("data-test-script-state");

  // Resolves once no DOM mutation (outside the header) happened for quietMs.
  B.quiet = (quietMs, maxMs) => new Promise((resolve) => {
    const start = performance.now();
    let last = start, timer;
    const done = (ok) => { mo.disconnect(); clearTimeout(timer); resolve({ ok, waited: performance.now() - start }); };
    const mo = new MutationObserver((records) => {
      if (records.some((r) => !B.inHeader(r.target))) last = performance.now();
    });
    mo.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    const tick = () => {
      const now = performance.now();
      if (now - last >= quietMs) return done(true);
      if (now - start >= maxMs) return done(false);
      timer = setTimeout(tick, Math.max(10, quietMs - (now - last)));
    };
    timer = setTimeout(tick, quietMs);
  });

  B.inHeader = (node) => {
    const el = node.nodeType === 1 ? node : node.parentElement;
    return !!(el && el.closest('[data-testid="stHeader"]'));
  };

  // Arm one timed move; the key press follows from Playwright. Returns an error or null;
  // the result is the promise B.pending.
  B.arm = (spec, oldText, expectText, opts) => {
    if (B.state() !== "notRunning") return `app not idle before the move: ${B.state()}`;
    const r = {
      t0: null, keyTimeStamp: null, text: null, textDom: null, textFrame: null,
      finishedAt: null, finishedStatus: null, idle: null, idleFrame: null, idleVia: null,
      sawRunning: false, lastMutation: null, quietOk: null, error: null,
    };
    const wsMark = B.ws.length;
    const resourceMark = performance.getEntriesByType("resource").length;
    let onKey, mo, timeout, quietTimer, settleStart;
    B.pending = new Promise((resolve) => {
      let done = false;
      const finish = (error) => {
        if (done) return;
        done = true;
        mo.disconnect();
        clearTimeout(timeout);
        clearTimeout(quietTimer);
        window.removeEventListener("keydown", onKey, true);
        B.onMessage = null;
        const msgs = B.ws.slice(wsMark).filter((m) => r.t0 !== null && m.t >= r.t0);
        r.out = msgs.filter((m) => m.dir === "out").map((m) => [m.t, m.bytes]);
        r.in = msgs.filter((m) => m.dir === "in").map((m) => [m.t, m.bytes, m.finished]);
        r.resources = performance.getEntriesByType("resource").slice(resourceMark).map((e) => ({
          name: e.name, start: e.startTime, end: e.responseEnd, bytes: e.transferSize,
        }));
        r.error = error || null;
        r.timeOrigin = performance.timeOrigin;
        r.longTasks = B.longTasks === null ? null : B.longTasks.filter(([start, d]) => start + d > r.t0);
        resolve(r);
      };
      const afterFrame = (fn) => requestAnimationFrame(() => fn(performance.now()));
      const quietTick = () => {
        const now = performance.now();
        const since = now - Math.max(r.lastMutation ?? 0, r.idleFrame ?? 0, r.textFrame ?? 0);
        if (since >= opts.quietMs) { r.quietOk = true; return finish(null); }
        if (now - settleStart >= opts.settleMaxMs) { r.quietOk = false; return finish(null); }
        quietTimer = setTimeout(quietTick, Math.max(10, opts.quietMs - since));
      };
      const maybeSettle = () => {
        if ((r.textFrame !== null || opts.textOptional) && r.idleFrame !== null && settleStart === undefined) {
          settleStart = performance.now();
          quietTimer = setTimeout(quietTick, opts.quietMs);
        }
      };
      const check = (now, via) => {
        if (r.t0 === null || done) return;
        if (r.textDom === null) {
          const t = B.text(spec);
          if (t !== null && t !== oldText) {
            if (expectText !== null && t !== expectText) {
              return finish(`text changed to ${JSON.stringify(t)}, expected ${JSON.stringify(expectText)}`);
            }
            r.textDom = now;
            r.text = t;
            afterFrame((f) => { r.textFrame = f; maybeSettle(); });
          }
        }
        if (r.idle === null && r.finishedAt !== null && B.state() === "notRunning") {
          r.idle = now;
          r.idleVia = via;
          afterFrame((f) => { r.idleFrame = f; check(f, "frame"); maybeSettle(); });
        }
      };
      onKey = (e) => {
        if (r.t0 === null) { r.t0 = performance.now(); r.keyTimeStamp = e.timeStamp; }
      };
      window.addEventListener("keydown", onKey, true);
      mo = new MutationObserver((records) => {
        const now = performance.now();
        if (r.t0 === null) return;
        for (const rec of records) {
          const attr = rec.attributeName;
          if (attr === "data-test-script-state" && rec.target.getAttribute(attr) !== "notRunning") r.sawRunning = true;
          if (!B.inHeader(rec.target)) r.lastMutation = now;
        }
        check(now, "mutation");
      });
      mo.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
      B.onMessage = (m) => {
        if (r.t0 === null || r.finishedAt !== null || m.finished === null) return;
        if (m.finished !== 0 && m.finished !== 3) return;  // 2: stopped early for another rerun
        r.finishedAt = m.t;
        r.finishedStatus = m.finished;
        afterFrame((f) => check(f, "frame"));
      };
      timeout = setTimeout(() => finish(`no result within ${opts.timeoutMs} ms: ${JSON.stringify(r)}`), opts.timeoutMs);
    });
    return null;
  };
})();
"""


def page_ready(page: Any, spec: dict[str, Any], quiet_ms: int = 1000) -> str:
    """Wait until the page is rendered, idle and quiet; return the watched text."""
    page.wait_for_function(
        "(spec) => window.__bench.state() === 'notRunning' && window.__bench.text(spec) !== null",
        arg=spec,
        timeout=LOAD_TIMEOUT_MS,
    )
    quiet = page.evaluate(f"window.__bench.quiet({quiet_ms}, {LOAD_TIMEOUT_MS})")
    if not quiet["ok"]:
        raise RuntimeError("the page never went quiet after loading")
    return page.evaluate("(spec) => window.__bench.text(spec)", spec)


def slider_value(thumb: Any) -> int:
    return int(float(thumb.evaluate("e => e.getAttribute('aria-valuenow') ?? e.value")))


def one_move(
    tab: Tab,
    server: Server,
    thumb: Any,
    key: str,
    spec: dict[str, Any],
    old_text: str,
    expect_text: str | None,
    expect_value: int,
    quiet_ms: int,
    text_optional: bool = False,
) -> dict[str, Any]:
    """One key press on the slider thumb, timed in the page; server events aligned to it.

    With `text_optional` the move also ends (idle, then quiet) when the text did not change.
    """
    page = tab.page
    server.new_events()  # drop anything before this move
    tab.frames.clear()
    opts = {"quietMs": quiet_ms, "settleMaxMs": SETTLE_MAX_MS, "timeoutMs": MOVE_TIMEOUT_MS}
    opts["textOptional"] = text_optional
    error = page.evaluate(
        "([spec, old, expect, opts]) => window.__bench.arm(spec, old, expect, opts)",
        [spec, old_text, expect_text, opts],
    )
    if error:
        raise RuntimeError(error)
    thumb.press(key)
    r = page.evaluate("window.__bench.pending")
    if r["error"]:
        raise RuntimeError(f"move {key}: {r['error']}")
    value = slider_value(thumb)
    if value != expect_value:
        raise RuntimeError(f"slider shows {value} after {key}, expected {expect_value}")
    page.wait_for_timeout(50)  # the server's event lines and the DevTools frame events are in by now
    return move_figures(r, server.new_events(), list(tab.frames))


def network_times(r: dict[str, Any], frames: list[tuple[str, float, int]]) -> dict[str, float | None]:
    """When the rerun's frames reached the browser (page clock), from the DevTools frame events."""
    out_net = [f for f in frames if f[0] == "out"]
    in_net = [f for f in frames if f[0] == "in"]
    if not r["out"] or len(out_net) != len(r["out"]):
        return {"first": None, "finished": None, "offset_check_ms": None}
    offset = out_net[0][1] - r["out"][0][0]  # DevTools monotonic ms minus page ms, for the same frame
    # The page's messages of this move are the last len(r["in"]) frames received.
    received = in_net[len(in_net) - len(r["in"]) :] if r["in"] else []
    finished_index = next((i for i, m in enumerate(r["in"]) if m[2] in (0, 3)), None)
    to_page = lambda ms: ms - offset  # noqa: E731
    return {
        "first": to_page(received[0][1]) if received else None,
        "finished": to_page(received[finished_index][1]) if received and finished_index is not None else None,
        # a frame is handled by the page after it reached the browser: a positive number here
        "offset_check_ms": (r["in"][0][0] - to_page(received[0][1])) if received else None,
    }


def move_figures(
    r: dict[str, Any], events: list[dict[str, Any]], frames: list[tuple[str, float, int]]
) -> dict[str, Any]:
    """Times in ms after the key press, browser and server on one time line."""
    t0 = r["t0"]
    origin = r["timeOrigin"]
    net = network_times(r, frames)
    idle_end = r["idleFrame"] if r["idleFrame"] is not None else t0
    long_tasks = r.get("longTasks") or []
    busy = sum(max(0.0, min(s + d, idle_end) - max(s, t0)) for s, d in long_tasks)

    def rel(t: float | None) -> float | None:
        return None if t is None else t - t0

    def server_rel(event: str) -> list[float]:
        return [e["t"] * 1000.0 - origin - t0 for e in events if e["ev"] == event]

    names = ("rerun_request", "run_start", "script_end", "gc_start", "gc_end", "finished_sent")
    server = {name: server_rel(name) for name in names}
    server["run_end"] = server_rel("run_end")
    first = {name: (times[0] if times else None) for name, times in server.items()}
    last_in = max((m[0] for m in r["in"] if m[0] <= (r["finishedAt"] or 0)), default=None)
    return {
        "text_ms": rel(r["textFrame"]),
        "idle_ms": rel(r["idleFrame"]),
        "settled_ms": rel(max(x for x in (r["lastMutation"], r["idleFrame"], r["textFrame"]) if x is not None)),
        "text_dom_ms": rel(r["textDom"]),
        "idle_dom_ms": rel(r["idle"]),
        "idle_via": r["idleVia"],
        "saw_running_state": r["sawRunning"],
        "settled_quiet": r["quietOk"],
        "text": r["text"],
        "key_event_delay_ms": t0 - r["keyTimeStamp"] if r["keyTimeStamp"] else None,
        "request_sent_ms": rel(r["out"][0][0]) if r["out"] else None,
        "messages_out": len(r["out"]),
        "first_message_in_ms": rel(r["in"][0][0]) if r["in"] else None,
        "finished_in_ms": rel(r["finishedAt"]),
        "last_message_in_ms": rel(last_in),
        "messages_in": len(r["in"]),
        "bytes_in": sum(m[1] for m in r["in"]),
        "http_requests": len(r["resources"]),
        "http_bytes": sum(x["bytes"] or 0 for x in r["resources"]),
        "http": [[x["name"], rel(x["start"]), rel(x["end"]), x["bytes"]] for x in r["resources"]],
        "first_frame_net_ms": rel(net["first"]),
        "finished_net_ms": rel(net["finished"]),
        "net_to_page_first_ms": net["offset_check_ms"],
        "browser_long_tasks_ms": busy if r.get("longTasks") is not None else None,
        "browser_long_tasks": [[round(s - t0, 1), round(d, 1)] for s, d in long_tasks],
        "server_reruns": len(server["run_start"]),
        "server_rerun_requests": len(server["rerun_request"]),
        "server_request_ms": first["rerun_request"],
        "server_run_start_ms": first["run_start"],
        "server_script_end_ms": first["script_end"],
        "server_gc_end_ms": first["gc_end"],
        "server_run_end_ms": first["run_end"],
        "server_finished_sent_ms": first["finished_sent"],
        "server_script_ms": (first["script_end"] - first["run_start"])
        if first["script_end"] is not None and first["run_start"] is not None
        else None,
        "server_gc_ms": (first["gc_end"] - first["gc_start"])
        if first["gc_end"] is not None and first["gc_start"] is not None
        else None,
        "events": {name: [round(t, 2) for t in times] for name, times in server.items()},
    }


def stats(values: list[float | None]) -> dict[str, Any]:
    xs = [v for v in values if v is not None]
    if not xs:
        return {"n": 0, "median_ms": None, "min_ms": None, "max_ms": None, "samples_ms": []}
    return {
        "n": len(xs),
        "median_ms": statistics.median(xs),
        "min_ms": min(xs),
        "max_ms": max(xs),
        "samples_ms": [round(x, 2) for x in xs],
    }


FIGURES = (
    "text_ms",
    "idle_ms",
    "settled_ms",
    "text_dom_ms",
    "idle_dom_ms",
    "request_sent_ms",
    "server_request_ms",
    "server_run_start_ms",
    "server_script_end_ms",
    "server_gc_end_ms",
    "server_finished_sent_ms",
    "server_script_ms",
    "server_gc_ms",
    "first_frame_net_ms",
    "first_message_in_ms",
    "finished_net_ms",
    "finished_in_ms",
    "browser_long_tasks_ms",
)
COUNTS = ("bytes_in", "messages_in")


def count_stats(values: list[int]) -> dict[str, Any]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)} if values else {}


def summarize_moves(moves: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        **{name: stats([m[name] for m in moves]) for name in FIGURES},
        **{name: count_stats([m[name] for m in moves]) for name in COUNTS},
        "server_reruns_per_move": sorted({m["server_reruns"] for m in moves}),
        "server_rerun_requests_per_move": sorted({m["server_rerun_requests"] for m in moves}),
        "messages_out_per_move": sorted({m["messages_out"] for m in moves}),
        "http_requests_per_move": sorted({m["http_requests"] for m in moves}),
        "moves_where_running_state_rendered": sum(1 for m in moves if m["saw_running_state"]),
        "moves_settled_quiet": sum(1 for m in moves if m["settled_quiet"]),
        "moves": moves,
    }


def bench_slider(
    tab: Tab, server: Server, thumb: Any, spec: dict[str, Any], repeat: int, warmup: int, fresh: int, quiet_ms: int
) -> dict[str, Any]:
    """Warm-up moves (which also learn the two texts), `repeat` timed moves between two
    values, then `fresh` moves up to values this session has not shown yet."""
    page = tab.page
    start_text = page.evaluate("(spec) => window.__bench.text(spec)", spec)
    low = slider_value(thumb)
    high_max = int(float(thumb.evaluate("e => e.getAttribute('aria-valuemax') ?? e.max")))
    if low + 1 > high_max:
        raise RuntimeError(f"slider at its maximum {low}, cannot move right")
    texts = {low: start_text}
    # Warm-up: right then left, at least once each; learns the text at the higher value.
    n_warm = max(2, warmup + warmup % 2)
    value, text = low, start_text
    warm_moves = []
    for i in range(n_warm):
        key, new_value = ("ArrowRight", low + 1) if i % 2 == 0 else ("ArrowLeft", low)
        m = one_move(tab, server, thumb, key, spec, text, texts.get(new_value), new_value, quiet_ms)
        warm_moves.append(m)
        texts.setdefault(new_value, m["text"])
        value, text = new_value, m["text"]
    if texts[low] == texts[low + 1]:
        raise RuntimeError(f"the watched text does not change between {low} and {low + 1}: {texts[low]!r}")
    if text != start_text:
        raise RuntimeError(f"back at {low}, the text is {text!r}, not {start_text!r} as before")
    moves = []
    for i in range(repeat):
        key, new_value = ("ArrowRight", low + 1) if i % 2 == 0 else ("ArrowLeft", low)
        m = one_move(tab, server, thumb, key, spec, texts[value], texts[new_value], new_value, quiet_ms)
        value = new_value
        moves.append(m)
    fresh_moves = []
    if fresh:
        text = texts[value]
        if value == low:  # untimed, to the visited higher value
            one_move(tab, server, thumb, "ArrowRight", spec, text, texts[low + 1], low + 1, quiet_ms)
            value, text = low + 1, texts[low + 1]
        for _ in range(min(fresh, high_max - value)):
            m = one_move(tab, server, thumb, "ArrowRight", spec, text, None, value + 1, quiet_ms, text_optional=True)
            value += 1
            text = m["text"] if m["text"] is not None else text
            texts[value] = text
            fresh_moves.append(m)
    return {
        "values": [low, low + 1],
        "texts": {str(k): v for k, v in texts.items()},
        **summarize_moves(moves),
        "fresh": summarize_moves(fresh_moves) if fresh_moves else None,
        "warmup_moves": warm_moves,
    }


class Tab:
    """A fresh browser context and page; optionally the websocket frames as the network sees them.

    The page's own timestamps say when the main thread handled a message. With
    `--network-timing`, the DevTools protocol's `Network.webSocketFrameReceived` also says
    when the frame reached the browser; the two are put on one time line by the frame the
    page sends (the rerun request), seen on both sides.
    """

    network_timing = False  # --network-timing

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport=VIEWPORT)
        self.context.add_init_script(INIT_SCRIPT)
        self.page = self.context.new_page()
        self.frames: list[tuple[str, float, int]] = []
        if self.network_timing:  # every frame's payload then also travels to this process
            cdp = self.context.new_cdp_session(self.page)
            cdp.on("Network.webSocketFrameReceived", lambda e: self._frame("in", e))
            cdp.on("Network.webSocketFrameSent", lambda e: self._frame("out", e))
            cdp.send("Network.enable")

    def _frame(self, direction: str, event: dict[str, Any]) -> None:
        self.frames.append((direction, event["timestamp"] * 1000.0, len(event["response"].get("payloadData", ""))))

    def close(self) -> None:
        self.context.close()


def measure_baseline(
    browser: Any, workdir: Path, name: str, repeat: int, warmup: int, fresh: int, quiet_ms: int, options: list[str]
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp:
        script = Path(tmp) / "one_slider.py"
        script.write_text(ONE_SLIDER)
        env = {k: v for k, v in os.environ.items() if k != "KPI_DB"}
        with running_server(script, Path(tmp), env, workdir, name, options) as server:
            tab = Tab(browser)
            page = tab.page
            try:
                page.goto(server.base, timeout=LOAD_TIMEOUT_MS)
                spec = WATCH["baseline"]
                if page_ready(page, spec) != "value 1":
                    raise RuntimeError("the one-slider page does not show 'value 1'")
                thumb = page.get_by_test_id("stSlider").get_by_role("slider")
                thumb.focus()
                return bench_slider(tab, server, thumb, spec, repeat, warmup, fresh, quiet_ms)
            finally:
                tab.close()


def wait_for_frame(page: Any, page_name: str) -> None:
    """The page heading, every shared control, and the page's chart or table rendered."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name=PAGES[page_name][1])).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_test_id("stSlider")).to_have_count(5, timeout=LOAD_TIMEOUT_MS)
    expect(sidebar.get_by_test_id("stNumberInput")).to_have_count(3, timeout=LOAD_TIMEOUT_MS)
    expect(sidebar.get_by_test_id("stDateInput")).to_have_count(1, timeout=LOAD_TIMEOUT_MS)
    draws = PAGES[page_name][2]
    if "chart" in draws:
        chart = page.get_by_test_id("stVegaLiteChart").locator("canvas, svg").first
        expect(chart).to_be_visible(timeout=LOAD_TIMEOUT_MS)
    if "table" in draws:
        expect(page.get_by_test_id("stDataFrame").locator("canvas").first).to_be_visible(timeout=LOAD_TIMEOUT_MS)


def measure_app(
    browser: Any,
    db: Path,
    workdir: Path,
    repeat: int,
    warmup: int,
    fresh: int,
    quiet_ms: int,
    options: list[str],
    pages: list[str],
) -> dict[str, Any]:
    env = {**os.environ, "KPI_DB": str(db)}
    results: dict[str, Any] = {}
    with running_server(APP, ROOT, env, workdir, f"app-{db.stem}", options) as server:
        for page_name in pages:
            path = PAGES[page_name][0]
            tab = Tab(browser)
            page = tab.page
            try:
                started = time.perf_counter()
                page.goto(server.base + path, timeout=LOAD_TIMEOUT_MS)
                wait_for_frame(page, page_name)
                spec = WATCH[page_name]
                page_ready(page, spec)
                load_s = time.perf_counter() - started
                thumb = (
                    page.get_by_test_id("stSidebar")
                    .get_by_test_id("stSlider")
                    .filter(has_text=SLIDER_LABEL)
                    .get_by_role("slider")
                )
                thumb.focus()
                figures = bench_slider(tab, server, thumb, spec, repeat, warmup, fresh, quiet_ms)
                if page.get_by_test_id("stException").count():
                    raise RuntimeError(f"the {page_name} page shows an exception")
                results[page_name] = {"load_to_quiet_s": load_s, **figures}
                print(
                    f"    {page_name}: text {figures['text_ms']['median_ms']:.0f} ms, "
                    f"idle {figures['idle_ms']['median_ms']:.0f} ms (median)",
                    flush=True,
                )
            finally:
                tab.close()
    return results


# --- databases ------------------------------------------------------------------------------------


def _core() -> Any:
    """bench_core, imported on first use (the --serve launcher does not need it)."""
    for path in (str(ROOT), str(ROOT / "benchmarks")):
        if path not in sys.path:
            sys.path.insert(0, path)
    import bench_core

    return bench_core


def database(n: int, seed: int, workdir: Path) -> dict[str, Any]:
    """The bench_core database of this size: reused when it is there, built otherwise."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    sys.path.insert(0, str(ROOT))
    import bench_core

    from kpi import store

    db = workdir.resolve() / f"bench-{n}.duckdb"
    shown = db.relative_to(ROOT) if db.is_relative_to(ROOT) else db
    source = f"benchmark partners={n} seed={seed}"
    info = None
    if db.exists():
        with contextlib.suppress(Exception):  # an unreadable file is built again
            info = store.describe(db)
    if info is not None and info.source == source and info.table_rows.get("partners") == n:
        print(f"[{n:,} partners] reusing {shown}", flush=True)
        return {"partners": n, "seed": seed, "db": str(db), "built": False, "rows": info.table_rows}
    print(f"[{n:,} partners] building {shown}", flush=True)
    built = bench_core.build(n, seed, db)
    return {"partners": n, "seed": seed, "db": str(db), "built": True, "rows": built["rows"]}


# --- report --------------------------------------------------------------------------------------


def mm(fig: dict[str, Any]) -> str:
    return "-" if fig["median_ms"] is None else f"{fig['median_ms']:.0f} / {fig['max_ms']:.0f}"


def med(fig: dict[str, Any]) -> str:
    return "-" if fig["median_ms"] is None else f"{fig['median_ms']:.0f}"


def pooled(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    """Two baseline runs pooled figure by figure (the raw moves stay in the runs)."""
    if a is None or b is None:
        return None
    return {
        **{name: stats(a[name]["samples_ms"] + b[name]["samples_ms"]) for name in FIGURES},
        **{name: count_stats([m[name] for m in a["moves"] + b["moves"]]) for name in COUNTS},
    }


def merge_baselines(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {**pooled(before, after), "fresh": pooled(before["fresh"], after["fresh"])}  # type: ignore[dict-item]


def ratios(fig: dict[str, Any], baseline: dict[str, Any]) -> dict[str, float | None]:
    def ratio(name: str) -> float | None:
        a, b = fig[name]["median_ms"], baseline[name]["median_ms"]
        return None if a is None or not b else a / b

    return {"text": ratio("text_ms"), "idle": ratio("idle_ms")}


def add_ratios(sizes: list[dict[str, Any]], baseline: dict[str, Any]) -> None:
    for size in sizes:
        for fig in size["pages"].values():
            fig["ratio_to_baseline"] = ratios(fig, baseline)
            if fig["fresh"] and baseline["fresh"]:
                fig["fresh"]["ratio_to_baseline"] = ratios(fig["fresh"], baseline["fresh"])


def evaluate_target(sizes: list[dict[str, Any]], baseline: dict[str, Any]) -> dict[str, Any]:
    at_target = [s for s in sizes if s["partners"] == TARGET_SIZE]
    if not at_target:
        return {"met": None, "detail": ""}
    pages = at_target[0]["pages"]
    idle = {p: pages[p]["ratio_to_baseline"]["idle"] for p in pages}
    text = {p: pages[p]["ratio_to_baseline"]["text"] for p in pages}
    verdict_on = [idle[p] for p in TARGET_PAGES if p in idle]
    return {
        # Overview and Tiers as opened (its list tab) give the verdict; a run without both gives none
        "met": all(r is not None and r <= TARGET_RATIO for r in verdict_on)
        if len(verdict_on) == len(TARGET_PAGES)
        else None,
        "idle_ratios": idle,
        "text_ratios": text,
        "detail": ", ".join(
            f"{LABELS[p]} {pages[p]['idle_ms']['median_ms']:.0f} ms = {idle[p]:.1f}x "
            f"of {baseline['idle_ms']['median_ms']:.0f} ms"
            for p in pages
        ),
    }


def x(r: float | None) -> str:
    return "-" if r is None else f"{r:.1f}x"


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    base = report["baseline"]
    main_rows = [
        ["-", "one-slider (baseline)", "alternating", mm(base["text_ms"]), mm(base["idle_ms"]), "1.0x", "1.0x"]
    ]
    for label, key in (
        ("  measured before the app", "baseline_before"),
        ("  measured after the app", "baseline_after"),
    ):
        b = report[key]
        main_rows.append(["-", label, "alternating", mm(b["text_ms"]), mm(b["idle_ms"]), "", ""])
    if base["fresh"]:
        main_rows.append(
            [
                "-",
                "one-slider (baseline)",
                "new value",
                mm(base["fresh"]["text_ms"]),
                mm(base["fresh"]["idle_ms"]),
                "1.0x",
                "1.0x",
            ]
        )
    breakdown_rows = [breakdown_row("-", "baseline", "alternating", base)]
    if base["fresh"]:
        breakdown_rows.append(breakdown_row("-", "baseline", "new value", base["fresh"]))
    for size in report["sizes"]:
        n = f"{size['partners']:,}"
        for page_name in size["pages"]:
            fig = size["pages"][page_name]
            for kind, f in (("alternating", fig), ("new value", fig["fresh"])):
                if f is None:
                    continue
                r = f["ratio_to_baseline"]
                main_rows.append(
                    [n, LABELS[page_name], kind, mm(f["text_ms"]), mm(f["idle_ms"]), x(r["text"]), x(r["idle"])]
                )
                breakdown_rows.append(breakdown_row(n, LABELS[page_name], kind, f))
    main_table = _core().md_table(
        ["partners", "page", "move", "key to text ms", "key to idle ms", "text vs baseline", "idle vs baseline"],
        main_rows,
    )
    breakdown_table = _core().md_table(
        [
            "partners",
            "page",
            "move",
            "request sent",
            "script start",
            "script ms",
            "GC ms",
            "GC end",
            "finished sent",
            "finished in page",
            "long tasks ms",
            "text",
            "idle",
            "settled",
            "KB in",
        ],
        breakdown_rows,
    )
    target = report["target"]
    verdict = (
        "n/a (needs the 20,000-partner size, Overview and Tiers)"
        if target["met"] is None
        else ("MET" if target["met"] else "NOT MET") + f" ({target['detail']})"
    )
    checks = []
    for size in report["sizes"]:
        for page_name in size["pages"]:
            fig = size["pages"][page_name]
            lo, hi = (str(v) for v in fig["values"])
            checks.append(
                f"{size['partners']:,} {page_name}, Trainings needed {lo} <-> {hi}: "
                f"{fig['texts'][lo]!r} <-> {fig['texts'][hi]!r}"
            )
    fresh_n = report["args"]["fresh"]
    return "\n".join(
        [
            f"Machine: {m['cpus_usable']} usable CPUs (nproc {m['nproc']}), {m['platform']}; Python {m['python']}; "
            f"Chromium {m['chromium']}; "
            + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
            + f"; commit {m['git'].get('commit', '?')}{' (dirty tree)' if m['git'].get('dirty') else ''}; "
            f"load average {report['load_average'][0]:.1f} at the start, {report['load_average'][1]:.1f} at the end.",
            f"Figures are median / max in ms after the key press: *alternating* over {report['args']['repeat']} moves "
            f"(baseline: {2 * report['args']['repeat']}, before and after the app), *new value* over {fresh_n} moves "
            f"(baseline: {2 * fresh_n}).",
            "",
            "Slider move, key press to screen (Chromium, real `streamlit run`)",
            "",
            main_table,
            "",
            "Where the time goes (medians; times in ms after the key press, script / GC / browser busy are durations)",
            "",
            breakdown_table,
            "",
            "Watched text (checked on every alternating move):",
            *[f"- {c}" for c in checks],
            "",
            f"Target (idle at 20,000 partners <= {TARGET_RATIO:.0f}x the one-slider page, alternating moves, "
            f"Overview and Tiers as opened, on its list tab): {verdict}",
            f"Total wall time {report['wall_s']:.0f} s.",
        ]
    )


def breakdown_row(partners: str, page_name: str, kind: str, fig: dict[str, Any]) -> list[str]:
    return [
        partners,
        page_name,
        kind,
        med(fig["request_sent_ms"]),
        med(fig["server_run_start_ms"]),
        med(fig["server_script_ms"]),
        med(fig["server_gc_ms"]),
        med(fig["server_gc_end_ms"]),
        med(fig["server_finished_sent_ms"]),
        med(fig["finished_in_ms"]),
        med(fig["browser_long_tasks_ms"]),
        med(fig["text_ms"]),
        med(fig["idle_ms"]),
        med(fig["settled_ms"]),
        f"{fig['bytes_in']['median'] / 1024:.0f}",
    ]


# --- main -------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:  # the server launcher (child process)
        if len(argv) < 3 or argv[2] != "--":
            raise SystemExit("usage: bench_browser.py --serve EVENTS_FILE -- STREAMLIT_ARGS...")
        serve(Path(argv[1]), argv[3:])
        return 0

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, TARGET_SIZE], help="partners per dataset")
    parser.add_argument("--repeat", type=int, default=15, help="timed moves per figure (default 15)")
    parser.add_argument("--out", type=Path, default=OUT_DIR / "bench_browser.json", help="JSON report file")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=OUT_DIR, help="databases and server logs (git-ignored)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed moves before the timed ones (default 2)")
    parser.add_argument(
        "--fresh", type=int, default=4, help="moves to values the session has not shown yet, after the timed ones"
    )
    parser.add_argument(
        "--network-timing",
        action="store_true",
        help="also time websocket frames at the browser's network layer (DevTools protocol; adds load)",
    )
    parser.add_argument(
        "--pages", nargs="+", choices=list(PAGES), default=list(PAGES), help="pages to measure (default: all)"
    )
    parser.add_argument("--quiet-ms", type=int, default=300, help="DOM quiet time that ends a move (default 300)")
    parser.add_argument(
        "--streamlit-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra `streamlit run` option for every server, e.g. runner.postScriptGC=false (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install -y chromium")

    def on_sigterm(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop the servers

    signal.signal(signal.SIGTERM, on_sigterm)
    Tab.network_timing = args.network_timing

    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    args.workdir.mkdir(parents=True, exist_ok=True)
    logs = args.workdir / "bench_browser_logs"
    logs.mkdir(exist_ok=True)
    dbs = [database(n, args.seed, args.workdir) for n in args.sizes]

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            common = {"repeat": args.repeat, "warmup": args.warmup, "fresh": args.fresh, "quiet_ms": args.quiet_ms}
            options = args.streamlit_option
            print("[baseline] one-slider script", flush=True)
            before = measure_baseline(browser, logs, "baseline-before", options=options, **common)
            sizes = []
            for db in dbs:
                print(f"[{db['partners']:,} partners] app", flush=True)
                pages = measure_app(browser, Path(db["db"]), logs, options=options, pages=args.pages, **common)
                sizes.append({**db, "pages": pages})
            print("[baseline] one-slider script, again", flush=True)
            after = measure_baseline(browser, logs, "baseline-after", options=options, **common)
            browser_version = browser.version
        finally:
            browser.close()

    baseline = merge_baselines(before, after)
    add_ratios(sizes, baseline)
    target = evaluate_target(sizes, baseline)
    report = {
        "benchmark": "bench_browser",
        "generated_at": datetime.now().isoformat(timespec="seconds"),
        "args": {
            "sizes": args.sizes,
            "repeat": args.repeat,
            "seed": args.seed,
            "warmup": args.warmup,
            "fresh": args.fresh,
            "quiet_ms": args.quiet_ms,
            "pages": args.pages,
            "network_timing": args.network_timing,
            "streamlit_options": args.streamlit_option,
        },
        "machine": _core().machine(PACKAGES, chromium=browser_version),
        "load_average": [load_start, os.getloadavg()[0]],
        "baseline": baseline,
        "baseline_before": before,
        "baseline_after": after,
        "sizes": sizes,
        "target": target,
        "wall_s": time.perf_counter() - started,
    }
    _core().write_report(report, render(report), args.out)
    print(f"\nJSON report: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
