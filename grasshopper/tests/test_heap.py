"""The WSGI entry point leaves the started process's heap out of the garbage collector's walks."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json, sys, weakref
import grasshopper.wsgi

class Node:
    pass

# A reference cycle made after start-up, as a request leaves them: still collected.
node = Node()
node.self = node
gone = weakref.ref(node)
del node
gc.collect()
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "loaded": [m for m in ("grasshopper.urls", "orders.api.views", "events.views") if m in sys.modules],
    "cycle_collected": gone() is None,
}))
"""


def test_the_wsgi_entry_point_loads_the_urlconf_and_freezes_the_start_up_heap():
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=os.environ, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # Django, the apps and the views they import: well over 100,000 objects the collector no longer walks.
    assert report["frozen"] > 100_000
    # The URLconf and the view modules are imported at start-up, not by the first request, so they are
    # frozen too.
    assert report["loaded"] == ["grasshopper.urls", "orders.api.views", "events.views"]
    assert report["cycle_collected"]
