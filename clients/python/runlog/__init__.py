"""runlog: Python logging, loguru and the seeds' worker, into a runlog hub. Standard library only.

    runlog.Handler(run_id=None, hub=None, token=None)   a logging.Handler into a run
    runlog.loguru_sink(...)                              the same for loguru: logger.add(runlog.loguru_sink())
    runlog.run(name=None, ...)                           a block (or function) whose logging is a run of its own
    runlog.Worker(worker_id, hub=None, token=None)       the seed's worker: buffer, heartbeats, VRAM, task context
    runlog.LogBuffer(max_size=100)                       the seed's log buffer

Hub and token: the arguments, else RUNLOG_HUB (default http://127.0.0.1:7070) and RUNLOG_TOKEN
(or the file named by RUNLOG_TOKEN_FILE). Nothing here raises into the program once constructed.
"""
from .handler import Handler, loguru_sink
from .run import run
from .worker import LogBuffer, Worker

__all__ = ["Handler", "loguru_sink", "run", "Worker", "LogBuffer"]
__version__ = "0.1.0"
