"""A hub that takes the connection and never answers (a hung proxy, a stopped VM): a request in
flight when the run ends outlasts the wait for the shipper (`exit_timeout`), and the program goes
on or exits. The run's end must be on disk by then, for the next program to deliver: it once
waited on the shipper's thread, which the exiting process dropped, and the hub then failed a run
that had completed as "runner lost"."""
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import unittest

import runlog


class EndWhileHubSilentTest(unittest.TestCase):
    def setUp(self) -> None:
        self.spool = tempfile.mkdtemp(prefix="runlog-test-")
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.accepted = []  # held open, never answered
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def tearDown(self) -> None:
        self.server.close()
        for connection in self.accepted:
            connection.close()
        shutil.rmtree(self.spool, ignore_errors=True)

    def test_the_end_is_in_the_spool_when_end_returns_though_a_request_is_still_in_flight(self) -> None:
        hub = "http://127.0.0.1:%d" % self.server.getsockname()[1]
        handler = runlog.Handler(hub=hub, spool_dir=self.spool, end_at_exit=False, exit_timeout=0.5)
        handler.emit(runlog_record("a line"))
        deadline = time.monotonic() + 10
        while not self.accepted and time.monotonic() < deadline:  # the run's create is in flight
            time.sleep(0.02)
        self.assertTrue(self.accepted)
        handler.end("failed", "ValueError: bad")
        with open(os.path.join(self.spool, "runs", handler.run_id, "end.json"), encoding="utf-8") as file:
            end = json.load(file)
        self.assertEqual((end["status"], end["error_message"]), ("failed", "ValueError: bad"))


def runlog_record(message: str):
    import logging

    return logging.LogRecord("test", logging.INFO, __file__, 1, message, None, None)


if __name__ == "__main__":
    unittest.main()
