"""runlog.Handler against a stand-in hub (http.server on 127.0.0.1), standard library only:

    PYTHONPATH=clients/python python3 -m unittest discover -s clients/python/tests

(test/python.test.ts runs the client against the real hub.)"""
import http.server
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

import runlog


def _error_of(action) -> str:
    try:
        action()
    except Exception as error:  # noqa: BLE001
        return str(error)
    return ""


class StandIn(http.server.ThreadingHTTPServer):
    """Takes every request (201 with {}), keeping the records POSTed to /api/runs/:id/logs."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Answer)
        self.down = False  # answers 503 to everything while True
        self.refuse_runs = False  # answers POST /api/runs with a 409 while True
        self.slow_logs = 0.0  # seconds each POST of lines takes before it is answered
        # run id → how many more of its requests (its create, lines, end) a proxy answers 404 (its hub
        # restarting); -1: all
        self.not_found = {}
        # run ids that ended on the hub: their create and lines answered 409 as the hub does (the end: 200)
        self.ended = set()
        self.records = []
        self.finished = {}  # run id → the body of its POST /finish
        self.by_run = {}  # run id → the messages POSTed to its /logs
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.server_address[1]


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
        if self.server.down:
            self.send_response(503)
            self.end_headers()
            return
        if self.server.refuse_runs and self.path == "/api/runs":
            self.send_response(409)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error":"CONFLICT","message":"run named-refused already ran (completed): use another id"}')
            return
        run_id = body.get("id") if self.path == "/api/runs" and isinstance(body, dict) else (self.path.split("/") + [""] * 4)[3]
        if run_id in self.server.ended and not self.path.endswith("/finish"):
            message = "already ran (completed): use another id" if self.path == "/api/runs" else "has ended (completed): it takes no more lines"
            self.send_response(409)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"error": "CONFLICT", "message": "run %s %s" % (run_id, message)}).encode())
            return
        if self.server.not_found.get(run_id, 0) != 0:
            with self.server.lock:
                self.server.not_found[run_id] -= 1 if self.server.not_found[run_id] > 0 else 0
            self.send_response(404)  # as nginx says it: HTML, not the hub's JSON
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html><body><h1>404 Not Found</h1></body></html>")
            return
        if self.path.endswith("/finish"):
            with self.server.lock:
                self.server.finished[run_id] = body
        if self.path.endswith("/logs"):
            time.sleep(self.server.slow_logs)
            with self.server.lock:
                self.server.records.extend(body["records"])
                self.server.by_run.setdefault(self.path.split("/")[3], []).extend(r["message"] for r in body["records"])
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self) -> None:  # noqa: N802
        self.do_POST()

    def log_message(self, *args) -> None:  # quiet
        pass


class WithHub(unittest.TestCase):
    def setUp(self) -> None:
        self.spool = tempfile.mkdtemp(prefix="runlog-test-")
        self.hub = StandIn()
        threading.Thread(target=self.hub.serve_forever, daemon=True).start()
        self.logger = logging.Logger("test.handler", logging.DEBUG)

    def tearDown(self) -> None:
        self.hub.shutdown()
        self.hub.server_close()
        shutil.rmtree(self.spool, ignore_errors=True)

    def handler(self, **options) -> runlog.Handler:
        handler = runlog.Handler(hub=options.pop("hub", self.hub.url), spool_dir=self.spool, end_at_exit=False, **options)
        self.logger.addHandler(handler)
        return handler

    def shipped(self, handler: runlog.Handler):
        handler.end()
        return sorted(self.hub.records, key=lambda r: r["seq"])


class HandlerTest(WithHub):
    def test_messages_levels_and_seqs(self) -> None:
        handler = self.handler()
        self.logger.debug("plain")
        self.logger.info("step %d of %d, loss %.3f, %s, %r", 1, 3, 0.5, "lr", b"x")
        self.logger.log(25, "level 25 rounds down")
        self.logger.warning("no args: %s %d stay")
        self.logger.error("mapping %(a)s", {"a": 5})
        self.logger.critical("bad %d", "x")
        self.logger.info({"not": "a str"})
        self.logger.info("non-ASCII and JSON escapes: é 中 😀 \" \\ \t \u2028 \x00")
        records = self.shipped(handler)
        self.assertEqual([(r["seq"], r["level"], r["message"], r["logger"], r["source"]) for r in records], [
            (1, "DEBUG", "plain", "test.handler", "sdk"),
            (2, "INFO", "step 1 of 3, loss 0.500, lr, b'x'", "test.handler", "sdk"),
            (3, "INFO", "level 25 rounds down", "test.handler", "sdk"),
            (4, "WARNING", "no args: %s %d stay", "test.handler", "sdk"),
            (5, "ERROR", "mapping 5", "test.handler", "sdk"),
            (6, "CRITICAL", "'bad %%d' %% ('x',) (runlog: could not format: %s)" % _error_of(lambda: "bad %d" % "x"), "test.handler", "sdk"),
            (7, "INFO", "{'not': 'a str'}", "test.handler", "sdk"),
            (8, "INFO", "non-ASCII and JSON escapes: é 中 😀 \" \\ \t \u2028 \x00", "test.handler", "sdk"),
        ])
        self.assertTrue(all(isinstance(r["timestamp"], int) and "task_id" not in r for r in records))

    def test_flush_returns_once_the_lines_logged_before_it_are_at_the_hub(self) -> None:
        # several batches (5000 records each at most), each answered slowly: taking them from the
        # queue is not delivering them, and a program that flushes then reads its run must find them
        self.hub.slow_logs = 0.2
        handler = self.handler()
        for i in range(12001):
            self.logger.info("line %d", i)
        handler.flush(timeout=20)
        with self.hub.lock:
            messages = list(self.hub.by_run.get(handler.run_id, []))
        self.assertEqual(messages, ["line %d" % i for i in range(12001)])
        self.logger.info("after")
        handler.flush(timeout=20)
        with self.hub.lock:
            self.assertEqual(self.hub.by_run[handler.run_id][-1], "after")
        handler.end()
        handler.flush(timeout=20)  # an ended handler's flush returns at once, never waits its timeout
        self.assertEqual(handler.stats["queued"], 0)

    def test_a_named_run_whose_hub_is_away_at_the_start_spools_its_lines_and_numbers_them_once_it_answers(self) -> None:
        self.hub.down = True
        handler = self.handler(run_id="named-away")
        for i in range(5):
            self.logger.info("early %d", i)
        spool = os.path.join(self.spool, "runs", "named-away", "pending.jsonl")
        deadline = time.monotonic() + 10
        while handler.stats["spooled"] < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        with open(spool, encoding="utf-8") as file:  # on disk, not only in memory (a SIGKILL would lose those)
            waiting = [record for line in file for record in json.loads(line)]
        self.assertEqual([(r["seq"], r["message"]) for r in waiting], [(0, "early %d" % i) for i in range(5)])
        self.hub.down = False
        for i in range(3):
            self.logger.info("late %d", i)
        records = self.shipped(handler)
        self.assertEqual([(r["seq"], r["message"]) for r in records], [(i + 1, m) for i, m in enumerate(["early %d" % i for i in range(5)] + ["late %d" % i for i in range(3)])])

    def test_a_run_the_hub_will_not_have_keeps_its_lines_in_a_file_of_their_own(self) -> None:
        import contextlib
        import io
        self.hub.down = True
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            handler = self.handler(run_id="named-refused")
            self.logger.info("while the hub is away")
            deadline = time.monotonic() + 10
            while handler.stats["spooled"] < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.hub.down, self.hub.refuse_runs = False, True
            self.logger.info("once it answers")
            handler.end()
        kept = os.path.join(self.spool, "refused", "named-refused.jsonl")
        with open(kept, encoding="utf-8") as file:
            records = [json.loads(line) for line in file]
        self.assertEqual([(r["seq"], r["message"]) for r in records], [(1, "while the hub is away"), (2, "once it answers")])
        self.assertEqual(stderr.getvalue(), "runlog: run named-refused cannot be written (hub answered 409: run named-refused already ran (completed): use another id); its lines are kept in %s\n" % kept)
        self.assertFalse(os.path.exists(os.path.join(self.spool, "runs", "named-refused")))  # nothing for the next program to try
        self.assertEqual(self.hub.records, [])

    def test_an_object_whose_str_and_repr_both_raise_never_raises_into_the_program(self) -> None:
        class Unprintable:
            def __str__(self) -> str:
                raise RuntimeError("no str")

            def __repr__(self) -> str:
                raise RuntimeError("no repr")

        handler = self.handler()
        self.logger.info(Unprintable())
        self.logger.info("value %s", Unprintable())
        self.logger.info("%(a)s", {"a": Unprintable()})
        handler.emit(logging.LogRecord("test.handler", logging.INFO, "", 0, Unprintable(), None, None))
        self.logger.info("after")
        messages = [r["message"] for r in self.shipped(handler)]
        self.assertEqual(messages[-1], "after")
        self.assertEqual(len(messages), 5)
        self.assertTrue(all("runlog: could not format" in m and "Unprintable" in m for m in messages[:4]), messages)

    def test_goes_straight_to_the_hub_whatever_http_proxy_says(self) -> None:
        # as the CLI does: a proxy set for pip (nothing listens on port 9 here) is not the way to a hub
        saved = {name: os.environ.get(name) for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY")}
        os.environ["http_proxy"] = os.environ["HTTP_PROXY"] = "http://127.0.0.1:9"
        for name in ("no_proxy", "NO_PROXY"):
            os.environ.pop(name, None)
        urllib.request.install_opener(None)  # urllib's default opener reads the proxies when it is made
        try:
            handler = self.handler()
            self.logger.info("through no proxy")
            handler.flush(timeout=10)
            with self.hub.lock:
                self.assertEqual(self.hub.by_run.get(handler.run_id), ["through no proxy"])
            handler.end()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            urllib.request.install_opener(None)

    def test_a_lone_surrogate_costs_one_character_not_the_batch(self) -> None:
        # what os.fsdecode() makes of a file name that is not UTF-8: strict UTF-8 refuses the whole body
        handler = self.handler()
        self.logger.info("before")
        self.logger.info("opening %s", os.fsdecode(b"/data/caf\xe9.csv"))
        self.logger.info("after \ud800 too")
        records = self.shipped(handler)
        self.assertEqual([r["message"] for r in records], ["before", "opening /data/caf\ufffd.csv", "after \ufffd too"])
        self.assertEqual([r["seq"] for r in records], [1, 2, 3])

    def test_arguments_that_are_not_plain_values_are_formatted_at_call_time(self) -> None:
        class Mutable:
            def __init__(self) -> None:
                self.value = "then"

            def __str__(self) -> str:
                return self.value

        handler = self.handler()
        items, thing = [1], Mutable()
        self.logger.info("list %s, object %s", items, thing)
        items.append(2)
        thing.value = "later"
        self.assertEqual([r["message"] for r in self.shipped(handler)], ["list [1], object then"])

    def test_task_ids(self) -> None:
        handler = self.handler()
        self.logger.info("from extra", extra={"task_id": "t-1"})
        self.logger.info("loguru's extra", extra={"extra": {"task_id": "t-2"}})
        self.logger.info("a number", extra={"task_id": 42})
        self.logger.info("none")
        self.assertEqual([r.get("task_id") for r in self.shipped(handler)], ["t-1", "t-2", "42", None])

    def test_filters(self) -> None:
        handler = self.handler()

        def drop_secret(record):
            return "secret" not in record.getMessage()

        handler.addFilter(drop_secret)
        if sys.version_info >= (3, 12):  # a filter may return the record to use instead
            def replace(record):
                if record.msg != "replace me":
                    return True
                other = logging.makeLogRecord(record.__dict__)
                other.msg = "replaced"
                return other

            handler.addFilter(replace)
        self.logger.info("kept")
        self.logger.info("a secret")
        self.logger.info("replace me")
        expected = ["kept", "replaced" if sys.version_info >= (3, 12) else "replace me"]
        self.assertEqual([r["message"] for r in self.shipped(handler)], expected)

    def test_an_exception_is_one_record_with_its_traceback_and_stack(self) -> None:
        handler = self.handler()
        try:
            {}["missing"]
        except KeyError:
            self.logger.exception("lookup %s failed", "x")
        self.logger.info("where", stack_info=True)
        first, second = self.shipped(handler)
        lines = first["message"].split("\n")
        self.assertEqual((first["level"], lines[0], lines[1], lines[-1]), ("ERROR", "lookup x failed", "Traceback (most recent call last):", "KeyError: 'missing'"))
        self.assertEqual(second["message"].split("\n")[:2], ["where", "Stack (most recent call last):"])

    def test_a_full_queue_drops_the_oldest_and_says_how_many(self) -> None:
        # a run named by its id waits for the hub to say its last seq: nothing is taken meanwhile
        handler = self.handler(run_id="r-full", hub="http://127.0.0.1:9", max_records=10, exit_timeout=1)
        for i in range(25):
            self.logger.info("line %d", i)
        self.assertEqual(handler.stats["dropped"], 15)
        self.assertEqual(handler.stats["queued"], 10)
        handler.end()  # the hub away: the lines go to the spool
        with open(os.path.join(self.spool, "runs", "r-full", "pending.jsonl"), encoding="utf-8") as file:
            records = [record for line in file for record in json.loads(line)]
        self.assertEqual([r["message"] for r in records], ["15 lines dropped by runlog (more than 10 waiting, or the spool full)"] + ["line %d" % i for i in range(15, 25)])
        # never heard from the hub: numbered once a hub says the run's last seq (here 40)
        self.assertEqual([r["seq"] for r in records], [0] * 11)
        from runlog._spool import Spool
        spool = Spool(os.path.join(self.spool, "runs", "r-full", "pending.jsonl"))
        self.assertTrue(spool.holds_unnumbered())
        self.assertEqual(spool.number(40), 51)
        self.assertFalse(spool.holds_unnumbered())
        with open(spool.path, encoding="utf-8") as file:
            self.assertEqual([record["seq"] for line in file for record in json.loads(line)], list(range(41, 52)))

    def test_many_lines_from_threads_keep_their_order_per_thread(self) -> None:
        handler = self.handler()

        def log(name: str) -> None:
            for i in range(3000):
                self.logger.info("%s %d", name, i)

        threads = [threading.Thread(target=log, args=(name,)) for name in "abc"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        records = self.shipped(handler)
        self.assertEqual([r["seq"] for r in records], list(range(1, 9001)))
        for name in "abc":
            self.assertEqual([r["message"] for r in records if r["message"].startswith(name)], ["%s %d" % (name, i) for i in range(3000)])


class RunBlockTest(WithHub):
    """runlog.run: the block's logging goes to a run of its own, not also to the runs of runlog
    Handlers added before it (an outer Handler, an enclosing block); other handlers still see it."""

    def setUp(self) -> None:
        super().setUp()
        self.root = logging.getLogger()
        self.root_level = self.root.level
        self.root.setLevel(logging.INFO)
        self.seen = []  # what a plain (non-runlog) handler on the root logger got
        self.plain = logging.Handler()
        self.plain.emit = lambda record: self.seen.append(record.getMessage())
        self.root.addHandler(self.plain)
        self.outer = runlog.Handler(hub=self.hub.url, spool_dir=self.spool, end_at_exit=False)
        self.root.addHandler(self.outer)

    def tearDown(self) -> None:
        self.root.removeHandler(self.outer)
        self.root.removeHandler(self.plain)
        self.root.setLevel(self.root_level)
        self.outer.end()
        super().tearDown()

    def block(self, name, **options):
        return runlog.run(name, hub=self.hub.url, spool_dir=self.spool, **options)

    def messages(self, run_id):
        return self.hub.by_run.get(run_id, [])

    def test_a_block_on_the_root_logger_takes_its_lines_alone(self) -> None:
        logging.info("before")
        with self.block("outer-and-inner") as outer_block:
            logging.info("in the outer block")
            with self.block("inner") as inner_block:
                logging.getLogger("train").info("in the inner block")
            logging.info("in the outer block again")
        logging.info("after")
        self.outer.end()
        self.assertEqual(self.messages(self.outer.run_id), ["before", "after"])
        self.assertEqual(self.messages(outer_block.run_id), ["in the outer block", "in the outer block again"])
        self.assertEqual(self.messages(inner_block.run_id), ["in the inner block"])
        self.assertEqual(self.seen, ["before", "in the outer block", "in the inner block", "in the outer block again", "after"])

    def test_a_block_on_a_named_logger_takes_that_logger_s_lines_only(self) -> None:
        with self.block("train-only", logger="train") as block:
            logging.getLogger("train.loop").info("train line")
            logging.getLogger("data").info("data line")
        self.outer.end()
        self.assertEqual(self.messages(block.run_id), ["train line"])
        self.assertEqual(self.messages(self.outer.run_id), ["data line"])


try:
    import loguru
except ImportError:  # optional
    loguru = None


@unittest.skipIf(loguru is None, "loguru is not installed")
class LoguruTest(WithHub):
    def test_loguru_through_its_sink_and_through_a_handler(self) -> None:
        from loguru import logger

        # "handler, default format": loguru's own format, its time and level the run has already
        for how in ("sink", "handler", "handler, default format"):
            self.hub.records.clear()
            handler = self.handler()
            sink = runlog.loguru_sink(handler=handler) if how == "sink" else handler
            logger.remove()
            key = logger.add(sink, level="TRACE", **({"format": "{message}"} if how == "handler" else {}))
            logger.trace("trace line")
            logger.success("it worked {}", 42)
            logger.bind(task_id="task-9").warning("with a task")
            try:
                1 / 0
            except ZeroDivisionError:
                logger.exception("division failed")
            logger.remove(key)
            records = self.shipped(handler)
            self.assertEqual([(r["level"], r["message"].split("\n")[0], r.get("task_id")) for r in records], [
                ("DEBUG", "trace line", None), ("INFO", "it worked 42", None), ("WARNING", "with a task", "task-9"), ("ERROR", "division failed", None),
            ], how)
            self.assertEqual(records[3]["message"].split("\n")[-1], "ZeroDivisionError: division by zero", how)
            self.assertEqual(records[3]["message"].count("Traceback"), 1, how)


if __name__ == "__main__":
    unittest.main()


class SmallPartsTest(unittest.TestCase):
    def test_nvidia_smi_rows_of_the_full_query_and_of_memory_alone(self) -> None:
        from runlog._gpu import parse_csv
        full = parse_csv("0, GPU-a, NVIDIA H200, 12, 143771, 1024, 40, 120.5\n")
        self.assertEqual(full[0]["memory_total_mb"], 143771)
        self.assertEqual(full[0]["name"], "NVIDIA H200")
        short = parse_csv("memory.total [MiB], memory.used [MiB]\n24576, 1024\n81559 MiB, 59 MiB\nerror, 3\n")
        self.assertEqual([(g["index"], g["memory_total_mb"], g["memory_used_mb"]) for g in short], [(0, 24576, 1024), (1, 81559, 59)])

    def test_an_invalid_run_id_is_one_error_at_construction_and_nothing_at_exit(self) -> None:
        import subprocess
        client = os.path.dirname(os.path.dirname(os.path.abspath(runlog.__file__)))
        for call in ("runlog.Handler(run_id='../bad')", "runlog.run(run_id='../bad').__enter__()", "runlog.Handler(run_id=42)"):
            done = subprocess.run([sys.executable, "-c", "import runlog\n" + call], env={**os.environ, "PYTHONPATH": client},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            stderr = done.stderr.decode()
            self.assertEqual(done.returncode, 1, stderr)
            self.assertEqual(stderr.count("Traceback"), 1, stderr)  # the program's own, not a second one at exit
            self.assertIn("ValueError: run_id: expected", stderr)
            self.assertNotIn("Exception ignored", stderr)

    def test_a_run_id_of_the_workers_streams_is_a_value_error_at_once(self) -> None:
        # the hub answers 400 to a run named worker:…; the Handler took it and spooled its lines for ever
        for call in (lambda: runlog.Handler(run_id="worker:gpu-1"), lambda: runlog.run(run_id="worker:x").__enter__()):
            with self.assertRaisesRegex(ValueError, "run_id: `worker:` is kept for the lines of workers, got 'worker:"):
                call()

    def test_a_hub_that_is_not_an_http_url_is_an_error_as_an_argument_and_said_from_runlog_hub(self) -> None:
        import contextlib
        import io
        import subprocess
        from unittest import mock
        from runlog._env import resolve_hub
        client = os.path.dirname(os.path.dirname(os.path.abspath(runlog.__file__)))
        # hub:7070 without its scheme was taken as a hub that is away, for ever: the lines only spooled
        for call in ("runlog.Handler(hub='localhost:7070')", "runlog.Worker('w', hub='ftp://hub')", "runlog.run(hub='hub:7070').__enter__()"):
            done = subprocess.run([sys.executable, "-c", "import runlog\n" + call], env={**os.environ, "PYTHONPATH": client},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            stderr = done.stderr.decode()
            self.assertEqual(done.returncode, 1, stderr)
            self.assertEqual(stderr.count("Traceback"), 1, stderr)
            self.assertIn("ValueError: hub: expected an http:// or https:// URL", stderr)
            self.assertNotIn("Exception ignored", stderr)
        stderr = io.StringIO()
        with mock.patch.dict(os.environ, {"RUNLOG_HUB": "localhost:7070"}), contextlib.redirect_stderr(stderr):
            self.assertEqual(resolve_hub(None), "localhost:7070")
        self.assertEqual(stderr.getvalue(), "runlog: RUNLOG_HUB='localhost:7070': expected an http:// or https:// URL (http://localhost:7070?); lines wait in the spool until a program reaches a hub\n")
        self.assertEqual(resolve_hub(" https://hub.example/runlog/ "), "https://hub.example/runlog")

    def test_worker_settings_from_the_environment_that_are_not_positive_numbers_are_said_with_the_value_used(self) -> None:
        import contextlib
        import io
        from unittest import mock
        cases = [
            ({"HEARTBEAT_INTERVAL": "0"}, "heartbeat_interval", 20.0, "runlog: HEARTBEAT_INTERVAL='0': expected a positive number of seconds; using 20\n"),
            ({"HEARTBEAT_INTERVAL": "-5"}, "heartbeat_interval", 20.0, "runlog: HEARTBEAT_INTERVAL='-5': expected a positive number of seconds; using 20\n"),
            ({"HEARTBEAT_INTERVAL": "soon"}, "heartbeat_interval", 20.0, "runlog: HEARTBEAT_INTERVAL='soon': expected a positive number of seconds; using 20\n"),
            ({"HEARTBEAT_INTERVAL": "0.3"}, "heartbeat_interval", 0.3, ""),  # under the hub's 1 s: beats that often, says 1 s
            ({"HEARTBEAT_INTERVAL": ""}, "heartbeat_interval", 20.0, ""),
            ({"LOG_BUFFER_SIZE": "0"}, "max_size", 100, "runlog: LOG_BUFFER_SIZE='0': expected a positive integer; using 100\n"),
            ({"LOG_BUFFER_SIZE": "2.5"}, "max_size", 100, "runlog: LOG_BUFFER_SIZE='2.5': expected a positive integer; using 100\n"),
            ({"LOG_BUFFER_SIZE": "7"}, "max_size", 7, ""),
        ]
        for n, (env, attribute, value, said) in enumerate(cases):
            stderr = io.StringIO()
            with mock.patch.dict(os.environ, env), contextlib.redirect_stderr(stderr):
                worker = runlog.Worker("env-%d" % n, hub="http://127.0.0.1:9", spool_dir=tempfile.gettempdir())
            got = worker.heartbeat_interval if attribute == "heartbeat_interval" else worker.buffer.max_size
            self.assertEqual((got, stderr.getvalue()), (value, said), env)
        with self.assertRaisesRegex(ValueError, "heartbeat_interval"):
            runlog.Worker("env-arg", heartbeat_interval=0)

    def test_a_program_run_with_python_m_is_named_after_its_package(self) -> None:
        import subprocess
        root = tempfile.mkdtemp(prefix="runlog-test-")
        try:
            os.makedirs(os.path.join(root, "trainer"))
            with open(os.path.join(root, "trainer", "__init__.py"), "w"):
                pass
            with open(os.path.join(root, "trainer", "__main__.py"), "w") as file:
                file.write("from runlog._env import program_name\nprint(program_name())\n")
            client = os.path.dirname(os.path.dirname(os.path.abspath(runlog.__file__)))
            done = subprocess.run([sys.executable, "-m", "trainer"], cwd=root, env={**os.environ, "PYTHONPATH": client},
                                  stdout=subprocess.PIPE, check=True)
            self.assertEqual(done.stdout.decode().strip(), "trainer")
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def test_a_program_given_by_python_c_or_on_stdin_is_named_python_not_a_dash(self) -> None:
        import subprocess
        client = os.path.dirname(os.path.dirname(os.path.abspath(runlog.__file__)))
        env = {**os.environ, "PYTHONPATH": client}
        code = "from runlog._env import program_name\nprint(program_name())\n"
        by_c = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, check=True)
        by_stdin = subprocess.run([sys.executable, "-"], input=code.encode(), env=env, stdout=subprocess.PIPE, check=True)
        self.assertEqual((by_c.stdout.decode().strip(), by_stdin.stdout.decode().strip()), ("python -c", "python"))
