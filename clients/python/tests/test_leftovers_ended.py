"""A dead program's leftover lines for a run that has since ended on the hub (cancelled, ended by
another program under its id): the hub answers 409 to its create and to its lines, whatever later
program tries. They were dropped without a word; now they go to refused/<id>.jsonl, said on stderr
in the words of Node's `runlog sync` ("the hub refuses its lines: …"), and the run's end is sent
as `runlog sync` sends it. A stand-in hub (test_handler.py); test/python-leftovers-ended.test.ts
does it against the real hub."""
import contextlib
import io
import json
import os
import time

from runlog._http import Hub
from runlog._leftovers import deliver_leftovers
from test_handler import WithHub


class LeftoversOfAnEndedRunTest(WithHub):
    def test_the_lines_go_to_refused_said_on_stderr_and_the_end_is_sent(self) -> None:
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            handler = self.handler(exit_timeout=1.0)
            run_id = handler.run_id
            self.logger.info("before")
            handler.flush(timeout=20)
            self.hub.down = True  # the rest waits in the spool, with the end: the program is gone
            for i in range(3):
                self.logger.info("late %d", i)
            handler.end()
            run_dir = os.path.join(self.spool, "runs", run_id)
            self.assertTrue(os.path.exists(os.path.join(run_dir, "pending.jsonl")))
            said_at_exit = stderr.getvalue()
            self.hub.down = False
            self.hub.ended.add(run_id)  # meanwhile the run ended on the hub
            deliver_leftovers(Hub(self.hub.url, None), os.path.join(self.spool, "runs"), None, time.monotonic() + 10)
        kept = os.path.join(self.spool, "refused", run_id + ".jsonl")
        with open(kept, encoding="utf-8") as file:
            records = [json.loads(line) for line in file]
        self.assertEqual([(r["seq"], r["message"]) for r in records], [(2, "late 0"), (3, "late 1"), (4, "late 2")])
        self.assertEqual(stderr.getvalue()[len(said_at_exit):], "runlog: run %s, left in the spool by an earlier program: the hub refuses its lines: "
                         "run %s has ended (completed): it takes no more lines; they are kept in %s\n" % (run_id, run_id, kept))
        self.assertEqual([r["message"] for r in self.hub.records], ["before"])
        self.assertEqual(self.hub.finished[run_id]["status"], "completed")
        self.assertFalse(os.path.exists(run_dir))
