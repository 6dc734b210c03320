"""Entry point of `python -m kpi` (see kpi/cli.py)."""

import os
import sys

if sys.argv[1:2] == ["load"]:
    # Polars' allocator (jemalloc, built with the `_rjem_` prefix, so it reads this variable)
    # keeps freed pages for about 10 s before handing them back. A load frees a chunk's
    # memory every few milliseconds; returned at once, the same load peaks about 35 MB lower
    # and takes no longer (benchmarks/README.md, "Load path"). It must be set before Polars
    # is imported; a value the user set wins.
    os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")

from kpi.cli import main  # noqa: E402  (after the allocator setting above)

sys.exit(main())
