"""The Python side of bench/python-handler.js: µs per logging call, runlog.Handler beside a
logging.StreamHandler to /dev/null, interleaved run by run. Prints one JSON object.

    python3 python_handler.py HUB_URL CALLS RUNS
"""
import json
import logging
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
import runlog  # noqa: E402

hub, calls, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def timed(handler, n):
    logger = logging.Logger("bench.trainer", logging.INFO)  # not in the manager: only this handler
    logger.addHandler(handler)
    started_wall, started_cpu = time.perf_counter(), time.thread_time()
    for i in range(n):
        logger.info("step %d/%d loss=%.5f lr=%s", i, n, 1 / (1 + i % 1000), "3.0e-04")
    wall, cpu = time.perf_counter() - started_wall, time.thread_time() - started_cpu
    return wall / n * 1e6, cpu / n * 1e6


class Nothing(logging.Handler):
    """Takes the record and does nothing: what logging itself costs (the LogRecord, findCaller, …)."""

    def handle(self, record):
        return record

    def emit(self, record):
        pass


nothing = Nothing()
devnull = open(os.devnull, "w")
stream = logging.StreamHandler(devnull)
stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
shipping = runlog.Handler(hub=hub, name="bench-python-handler", max_records=max(100_000, calls + 1))

timed(stream, calls // 4)  # warm-up
timed(shipping, calls // 4)
shipping.flush(timeout=60)
timed(nothing, calls // 4)
rows = {"stream": [], "runlog": [], "nothing": []}
for _ in range(runs):
    rows["nothing"].append(timed(nothing, calls))
    rows["stream"].append(timed(stream, calls))
    rows["runlog"].append(timed(shipping, calls))
    shipping.flush(timeout=60)  # the next run starts with an empty queue
stats = shipping.stats
shipping.end("completed")
print(json.dumps({"rows": rows, "run_id": shipping.run_id, "stats": stats, "python": sys.version.split()[0]}))
