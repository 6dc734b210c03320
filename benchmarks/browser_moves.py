"""One timed slider move in bench_browser and its figures: the key press, the page's own
timestamps, the server's events on the same time line, and the summary of many moves.
"""

from __future__ import annotations

import statistics
from typing import Any

from browser_page import Tab, slider_value
from browser_server import Server

MOVE_TIMEOUT_MS = 60_000
SETTLE_MAX_MS = 5_000


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
    figures = move_figures(r, server.new_events(), list(tab.frames))
    figures["shown"] = shown_text(page, spec)
    return figures


def shown_text(page: Any, spec: dict[str, Any]) -> str | None:
    """The text of `spec["shown"]`, an element the page must show at both values (the
    what-if pages: the comparison with the policy), read after the move's timing ended."""
    if not spec.get("shown"):
        return None
    text = page.evaluate("(spec) => window.__bench.text(spec)", spec["shown"])
    if text is None:
        raise RuntimeError(f"the page does not show {spec['shown']} (link {page.url})")
    return text


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
    shown = {low: shown_text(page, spec)}
    # Warm-up: right then left, at least once each; learns the text at the higher value.
    n_warm = max(2, warmup + warmup % 2)
    value, text = low, start_text
    warm_moves = []
    for i in range(n_warm):
        key, new_value = ("ArrowRight", low + 1) if i % 2 == 0 else ("ArrowLeft", low)
        m = one_move(tab, server, thumb, key, spec, text, texts.get(new_value), new_value, quiet_ms)
        warm_moves.append(m)
        texts.setdefault(new_value, m["text"])
        shown.setdefault(new_value, m["shown"])
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
        "shown_texts": {str(k): v for k, v in shown.items()} if spec.get("shown") else None,
        **summarize_moves(moves),
        "fresh": summarize_moves(fresh_moves) if fresh_moves else None,
        "warmup_moves": warm_moves,
    }
