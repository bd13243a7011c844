"""A 404 to the run's create (a reverse proxy before a hub that is restarting) against a stand-in hub:
tried again as the Node shipper does (src/sinks/hub.ts), never a reason to put the lines in refused/
at once; a 404 that lasts leaves them in the spool, said on stderr, for the next program that
reaches the hub (as `runlog sync` leaves a WAL, src/sinks/hub-replay.ts): they once went to
refused/, where nothing sends them, after one 404 to the next program's create."""
import contextlib
import io
import json
import os
import time

from runlog._http import Hub
from runlog._leftovers import deliver_leftovers
from test_handler import WithHub


class CreateAnswered404Test(WithHub):
    def test_a_momentary_404_to_the_create_is_tried_again_and_every_line_reaches_the_hub(self) -> None:
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            handler = self.handler()
            self.hub.not_found[handler.run_id] = 2  # the proxy's 404 while the hub restarts
            for i in range(5):
                self.logger.info("line %d", i)
            deadline = time.monotonic() + 20  # the lines wait in the spool meanwhile, then go
            while len(self.hub.records) < 5 and time.monotonic() < deadline:
                time.sleep(0.05)
            records = self.shipped(handler)
        self.assertEqual([(r["seq"], r["message"]) for r in records], [(i + 1, "line %d" % i) for i in range(5)])
        self.assertEqual(self.hub.not_found[handler.run_id], 0)  # it was answered 404 twice first
        self.assertFalse(os.path.exists(os.path.join(self.spool, "refused")))
        self.assertFalse(os.path.exists(os.path.join(self.spool, "runs", handler.run_id)))
        self.assertEqual(stderr.getvalue(), "")

    def test_a_404_that_lasts_keeps_the_lines_in_the_spool_and_a_later_program_delivers_them(self) -> None:
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            handler = self.handler(exit_timeout=1.0)
            run_id = handler.run_id
            self.hub.not_found[run_id] = -1
            for i in range(3):
                self.logger.info("line %d", i)
            handler.end()
            run_dir = os.path.join(self.spool, "runs", run_id)
            said_at_exit = stderr.getvalue()
            self.assertIn("answered 404 to run %s's creation" % run_id, said_at_exit)
            self.assertIn(run_dir, said_at_exit)
            with open(os.path.join(run_dir, "pending.jsonl"), encoding="utf-8") as file:
                waiting = [r["message"] for line in file for r in json.loads(line)]
            self.assertEqual(waiting, ["line 0", "line 1", "line 2"])
            self.assertTrue(os.path.exists(os.path.join(run_dir, "end.json")))
            # the next program that reaches the hub: still 404, the run waits where it is
            deliver_leftovers(Hub(self.hub.url, None), os.path.join(self.spool, "runs"), None, time.monotonic() + 10)
            said_then = stderr.getvalue()[len(said_at_exit):]
            self.assertEqual(said_then, "runlog: run %s, left in the spool by an earlier program, waits in %s: the hub at %s answered 404 for POST /api/runs "
                             "(a proxy's while the hub restarts?); the next program that reaches the hub tries again\n" % (run_id, run_dir, self.hub.url))
            self.assertFalse(os.path.exists(os.path.join(self.spool, "refused")))
            self.assertTrue(os.path.exists(os.path.join(run_dir, "pending.jsonl")))
            self.assertEqual(self.hub.records, [])
            # the hub back behind its proxy: the program after delivers every line once, and the end
            self.hub.not_found[run_id] = 0
            deliver_leftovers(Hub(self.hub.url, None), os.path.join(self.spool, "runs"), None, time.monotonic() + 10)
        self.assertEqual([(r["seq"], r["message"]) for r in self.hub.records], [(1, "line 0"), (2, "line 1"), (3, "line 2")])
        self.assertEqual(self.hub.finished[run_id]["status"], "completed")
        self.assertFalse(os.path.exists(run_dir))
        self.assertEqual(stderr.getvalue()[len(said_at_exit) + len(said_then):], "")

    def test_a_named_run_answered_404_at_first_numbers_its_lines_once_the_hub_takes_it(self) -> None:
        self.hub.not_found["named-404"] = 1
        handler = self.handler(run_id="named-404")
        for i in range(3):
            self.logger.info("line %d", i)
        records = self.shipped(handler)
        self.assertEqual([(r["seq"], r["message"]) for r in records], [(1, "line 0"), (2, "line 1"), (3, "line 2")])
        self.assertFalse(os.path.exists(os.path.join(self.spool, "refused")))

    def test_a_404_to_the_run_s_end_keeps_the_end_for_the_next_program(self) -> None:
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            handler = self.handler(exit_timeout=1.0)
            self.logger.info("the only line")
            deadline = time.monotonic() + 20
            while not self.hub.records and time.monotonic() < deadline:
                time.sleep(0.05)
            self.hub.not_found[handler.run_id] = 1  # the end's POST, answered while the hub restarts
            handler.end()
            run_dir = os.path.join(self.spool, "runs", handler.run_id)
            with open(os.path.join(run_dir, "end.json"), encoding="utf-8") as file:
                self.assertEqual(json.load(file)["status"], "completed")
            deliver_leftovers(Hub(self.hub.url, None), os.path.join(self.spool, "runs"), None, time.monotonic() + 10)
        self.assertFalse(os.path.exists(run_dir))  # delivered: nothing left
        self.assertEqual([r["message"] for r in self.hub.records], ["the only line"])
