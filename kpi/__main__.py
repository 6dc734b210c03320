"""Entry point of `python -m kpi` (see kpi/cli.py)."""

import os
import sys

# What `import polars` writes into the environment for its allocator (jemalloc, built with the
# `_rjem_` prefix): freed pages kept 0.5 s, then 1 s more. A Python process that imported
# Polars (a scheduler, the app) passes it on to a `python -m kpi` it starts.
_POLARS_OWN = "dirty_decay_ms:500,muzzy_decay_ms:1000"

if sys.argv[1:2] == ["load"] and os.environ.get("_RJEM_MALLOC_CONF", "") in ("", _POLARS_OWN):
    # A load frees a chunk's memory every few milliseconds; handed back at once instead of
    # kept for reuse, the same load peaks about 30 MB lower and takes no longer
    # (benchmarks/README.md, "Load path"). Polars adds its own setting in front of this one
    # when it is imported, so this one wins; a value the user set is left alone.
    os.environ["_RJEM_MALLOC_CONF"] = "dirty_decay_ms:0,muzzy_decay_ms:0"

from kpi.cli import main  # noqa: E402  (after the allocator setting above)

sys.exit(main())
