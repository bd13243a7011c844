"""runlog.Worker's task context: each Worker's own, per thread (no hub needed: the lines are read
from the worker's buffer, which heartbeats would send)."""
import logging
import shutil
import tempfile
import threading
import unittest

import runlog


class TaskContextTest(unittest.TestCase):
    def setUp(self) -> None:
        self.spool = tempfile.mkdtemp(prefix="runlog-test-")

    def tearDown(self) -> None:
        shutil.rmtree(self.spool, ignore_errors=True)

    def worker(self, worker_id: str) -> runlog.Worker:
        worker = runlog.Worker(worker_id, hub="http://127.0.0.1:9", spool_dir=self.spool, buffer_size=1000)
        self.addCleanup(worker.logger.removeHandler, worker.handler)
        return worker

    def lines(self, worker: runlog.Worker):
        return [(entry["message"], entry.get("task_id")) for entry in worker.buffer.flush()]

    def test_a_task_context_belongs_to_its_worker(self) -> None:
        a, b = self.worker("ctx-a"), self.worker("ctx-b")
        with a.task_context("t1"):
            a.logger.info("a in t1")
            b.logger.info("b while a is in t1")
            self.assertEqual((a.status, b.status), ("busy", "idle"))
            with b.task_context("t2"):
                a.logger.info("a in t1, b in t2")
                b.logger.info("b in t2")
            b.logger.info("b after t2")
        a.logger.info("a after t1")
        self.assertEqual(self.lines(a), [("a in t1", "t1"), ("a in t1, b in t2", "t1"), ("a after t1", None)])
        self.assertEqual(self.lines(b), [("b while a is in t1", None), ("b in t2", "t2"), ("b after t2", None)])
        self.assertEqual((a.current_task_id, b.current_task_id), (None, None))

    def test_two_threads_in_tasks_of_one_worker_each_see_their_own_and_leaving_out_of_order_ends_both(self) -> None:
        worker = self.worker("ctx-threads")
        first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
        seen = []  # the worker's current task once t1 has ended and t2 goes on

        def first() -> None:
            with worker.task_context("t1"):
                first_in.set()
                second_in.wait(10)
                worker.logger.info("first thread")
            first_out.set()

        def second() -> None:
            first_in.wait(10)
            with worker.task_context("t2"):
                second_in.set()
                first_out.wait(10)  # t1 ends while t2 goes on: the worker is busy with t2
                worker.logger.info("second thread")
                seen.append(worker.current_task_id)

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        self.assertEqual(self.lines(worker), [("first thread", "t1"), ("second thread", "t2")])
        self.assertEqual(seen, ["t2"])
        # left out of the order entered: neither task is current once both have ended
        self.assertEqual((worker.current_task_id, worker.status), (None, "idle"))

    def test_a_line_from_a_thread_outside_any_context_carries_the_worker_s_current_task(self) -> None:
        # the seed's worker runs one task at a time: its helper threads' lines belong to it
        worker = self.worker("ctx-helper")
        with worker.task_context("t1"):
            helper = threading.Thread(target=lambda: worker.logger.info("helper"))
            helper.start()
            helper.join(10)
        self.assertEqual(self.lines(worker), [("helper", "t1")])


if __name__ == "__main__":
    logging.basicConfig()
    unittest.main()
