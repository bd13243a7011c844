"""A long-lived program whose `runlog.run` block (or a Handler it ends) ends while the hub is away:
its last lines and its end wait in the spool, and the program's other shippers deliver them once
the hub is back. They once waited for the next program: the hub failed the run as "runner lost"
with only the lines sent before the outage, although this program kept logging to it for long."""
import contextlib
import io
import logging
import time

import runlog
from test_handler import WithHub


class BlockEndedWhileHubAwayTest(WithHub):
    def test_the_program_s_other_handler_delivers_the_block_s_last_lines_and_end_once_the_hub_is_back(self) -> None:
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            outer = self.handler()  # the program's own, long-lived Handler
            self.logger.info("outer before")
            outer.flush()
            block_logger = logging.Logger("test.block", logging.DEBUG)
            with runlog.run("nightly", hub=self.hub.url, spool_dir=self.spool, logger=block_logger, exit_timeout=1.0) as block:
                block_logger.info("block 0")
                block.handler.flush()
                self.hub.down = True  # the hub goes away mid-block, and the block ends meanwhile
                for i in range(1, 4):
                    block_logger.info("block %d", i)
            self.assertNotIn(block.run_id, self.hub.finished)
            self.hub.down = False
            self.logger.info("outer after")  # the program goes on: its Handler reaches the hub again
            deadline = time.monotonic() + 20
            while block.run_id not in self.hub.finished and time.monotonic() < deadline:
                time.sleep(0.05)
            outer.end()
        self.assertEqual(self.hub.by_run.get(block.run_id), ["block %d" % i for i in range(4)])
        self.assertEqual(self.hub.finished.get(block.run_id, {}).get("status"), "completed")
        self.assertEqual(self.hub.by_run.get(outer.run_id), ["outer before", "outer after"])
