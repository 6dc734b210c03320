"""Entry point of `python -m kpi` (see kpi/cli.py)."""

import os
import sys

# What `import polars` writes into the environment for its allocator (jemalloc, built with the
# `_rjem_` prefix): freed pages are kept for a while. A Python process that imported
# Polars (a scheduler, the app) passes it on to a `python -m kpi` it starts.
_POLARS_OWN = "dirty_decay_ms:500,muzzy_decay_ms:1000"

_RETURN_AT_ONCE = "dirty_decay_ms:0,muzzy_decay_ms:0"


def _allocator_setting(current: str) -> str:
    """The allocator setting for a load, given the variable's value (a user's decay setting is kept)."""
    if not current:
        return _RETURN_AT_ONCE
    # Polars' own value, perhaps with its POLARS_THP options and a user's options after it.
    users = current.removeprefix(_POLARS_OWN) if current.startswith(_POLARS_OWN) else current
    if "decay_ms" in users:
        return current
    return current + "," + _RETURN_AT_ONCE  # later options win


if __name__ == "__main__":
    if sys.argv[1:2] == ["load"]:
        # A load frees each chunk's memory soon after reading it; handed back at once instead of
        # kept for reuse, the same load peaks lower and takes no longer (benchmarks/README.md,
        # "bench_load.py: the load path"). Polars puts its own setting in front of this
        # one when it is imported, so this one wins.
        os.environ["_RJEM_MALLOC_CONF"] = _allocator_setting(os.environ.get("_RJEM_MALLOC_CONF", ""))

    from kpi.cli import main  # after the allocator setting above

    sys.exit(main())
