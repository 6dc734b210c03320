"""The browser side of bench_browser: Chromium's settings, the script every page gets
before its own (websocket timestamps, the watched-text readers, one timed move), and a tab.

`bench_upload.py` uses the Chromium settings too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}
LOAD_TIMEOUT_MS = 180_000

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
    // Markdown, and captions (in Streamlit 1.67 a caption is not a markdown container): the
    // first whose text contains `spec.contains`, or matches the regular expression `spec.pattern`.
    const texts = '[data-testid="stMarkdownContainer"], [data-testid="stCaptionContainer"]';
    const pattern = spec.pattern ? new RegExp(spec.pattern) : null;
    for (const m of document.querySelectorAll(texts)) {
      const t = m.textContent.trim();
      if (pattern ? pattern.test(t) : t.includes(spec.contains)) return t;
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
