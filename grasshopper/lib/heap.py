"""The web process's heap and Python's cyclic garbage collector.

A started web process holds about 195,000 long-lived container objects (modules, classes, functions,
settings, the URLconf and the views it imports). CPython's collector walks all of them in each whole-heap
collection: about 100 ms of one core here, during which that worker answers nobody. A fresh worker runs
several such collections over its first few hundred requests, until its start-up objects have settled in
the oldest generation: exactly when an on-sale rush hits workers just deployed or recycled. Frozen, those
objects sit in the collector's permanent generation, which it never walks (a whole-heap collection then
takes microseconds); the collector still frees whatever requests leave behind.

Measured with callgrind on one gunicorn worker (``bench/README.md``, "Flash sale"): over a fresh worker's
first 300 free API orders, 10.27 M instructions per order without the freeze and 9.99 M with it (-2.7 %);
once a worker has settled (after some hundreds of requests) the two are equal.
"""

import gc

from django.urls import get_resolver


def freeze_startup_heap() -> int:
    """Load what the first request would load (the URLconf and, through it, every view module), collect
    the start-up garbage once, and freeze the rest. Returns how many objects are frozen.

    Call it once, at the end of a process's start-up (``grasshopper.wsgi``): objects frozen here are never
    freed, so the cost of a frozen object that later becomes garbage is its memory. Before a fork (gunicorn
    ``--preload``) it also keeps the collector from writing to pages the workers share with the master.
    """
    get_resolver().url_patterns  # noqa: B018 (imports the URLconf and every view module it names)
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
