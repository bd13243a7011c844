"""The VRAM a Worker reports: nvidia-smi's answer read by the names of its columns. Stand-in
nvidia-smi scripts first on PATH, and real captures from ../shared/corpus/nvidia_smi (beside the
checkout: skipped, saying so, when it is absent, unless RUNLOG_TEST_STRICT=1)."""
import os
import re
import shutil
import stat
import sys
import tempfile
import unittest

from runlog._gpu import FORMAT, QUERY, GpuProbe, parse_csv

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "shared", "corpus", "nvidia_smi")
STRICT = os.environ.get("RUNLOG_TEST_STRICT") == "1"


class StandInTest(unittest.TestCase):
    def setUp(self) -> None:
        self.bin = tempfile.mkdtemp(prefix="runlog-test-bin-")
        self.addCleanup(shutil.rmtree, self.bin, True)
        path = os.environ.get("PATH", "")
        os.environ["PATH"] = self.bin + os.pathsep + path
        self.addCleanup(os.environ.__setitem__, "PATH", path)

    def stand_in(self, output: str) -> str:
        """An nvidia-smi first on PATH that prints `output` whatever it is asked, and notes its arguments."""
        args = os.path.join(self.bin, "args")
        script = os.path.join(self.bin, "nvidia-smi")
        with open(script, "w", encoding="utf-8") as file:
            file.write("#!/bin/sh\nprintf '%%s\\n' \"$@\" > %s\ncat <<'EOF'\n%sEOF\n" % (args, output))
        os.chmod(script, os.stat(script).st_mode | stat.S_IXUSR)
        return args

    def memory(self) -> list:
        snapshot = GpuProbe().snapshot()
        return [(g["index"], g["memory_total_mb"], g["memory_used_mb"]) for g in snapshot["gpus"]] + [(snapshot["vram_total_mb"], snapshot["vram_used_mb"])]

    def test_asks_for_explicit_fields_with_the_header_that_names_them(self) -> None:
        args = self.stand_in("memory.total [MiB], memory.used [MiB]\n24576, 1024\n")
        self.assertEqual(self.memory(), [(0, 24576, 1024), (24576, 1024)])
        with open(args, encoding="utf-8") as file:
            self.assertEqual(file.read().splitlines(), [QUERY, FORMAT])
        self.assertEqual(FORMAT, "--format=csv,nounits")
        self.assertIn("memory.total,memory.used", QUERY)

    def test_memory_used_before_memory_total_is_not_taken_for_the_total(self) -> None:
        self.stand_in("memory.used [MiB], memory.total [MiB]\n1024, 24576\n59, 81559\n")
        self.assertEqual(self.memory(), [(0, 24576, 1024), (1, 81559, 59), (106135, 1083)])

    def test_the_full_query_in_another_order_with_a_comma_in_a_name(self) -> None:
        self.stand_in(
            "name, memory.used [MiB], index, power.draw [W], memory.total [MiB], uuid, temperature.gpu, utilization.gpu [%]\n"
            "NVIDIA A100-SXM4-40GB, 1234, 0, 60.5, 40960, GPU-a, 40, 12\n"
            "Custom, Board, 100, 1, [N/A], 40960, GPU-b, 35, 0\n"
        )
        gpus = GpuProbe().snapshot()["gpus"]
        self.assertEqual(gpus, [
            {"index": 0, "uuid": "GPU-a", "name": "NVIDIA A100-SXM4-40GB", "utilization_gpu": 12, "memory_total_mb": 40960, "memory_used_mb": 1234, "temperature_c": 40, "power_draw_w": 60.5},
            {"index": 1, "uuid": "GPU-b", "name": "Custom, Board", "utilization_gpu": 0, "memory_total_mb": 40960, "memory_used_mb": 100, "temperature_c": 35, "power_draw_w": None},
        ])

    def test_an_answer_without_a_header_is_read_in_the_order_asked(self) -> None:
        # a stand-in made for the seed's query (noheader): two numbers, memory.total then memory.used
        self.stand_in("24576, 1024\n")
        self.assertEqual(self.memory(), [(0, 24576, 1024), (24576, 1024)])

    def test_no_gpu_is_none_not_zero(self) -> None:
        self.stand_in("No devices were found\n")
        self.assertEqual(self.memory(), [(None, None)])


class CorpusTest(unittest.TestCase):
    def setUp(self) -> None:
        if not os.path.isdir(CORPUS):
            if STRICT:
                self.fail("corpus not found at %s (strict mode, RUNLOG_TEST_STRICT=1: not skipping)" % CORPUS)
            sys.stderr.write("test_gpu: corpus not found at %s: skipping\n" % CORPUS)
            self.skipTest("corpus not found at %s" % CORPUS)

    def read(self, name: str) -> str:
        with open(os.path.join(CORPUS, name), encoding="utf-8") as file:
            return file.read()

    def query_sections(self, name: str) -> list:
        """What nvidia-smi --query-gpu=… --format=csv printed in an exporter capture: its header
        (about 220 fields, memory.total and memory.used among them, not where ours are) and rows."""
        return re.findall(r"^# \w+ :: query-gpu \(csv[^\n]*\n# \$[^\n]*\n#+\n(.*?)\n\n", self.read(name), re.S | re.M)

    def test_an_h100_s_answer_to_about_220_fields_with_units_in_its_values(self) -> None:
        sections = self.query_sections("exporter_capture_linux_h100-mig_590.48.01.txt")
        self.assertEqual(len(sections), 2)  # idle, load
        read = [parse_csv(section) for section in sections]
        self.assertEqual([[(g["index"], g["name"], g["memory_total_mb"], g["memory_used_mb"], g["power_draw_w"], g["utilization_gpu"]) for g in gpus] for gpus in read], [
            [(0, "NVIDIA H100 80GB HBM3", 81559, 59, 71.15, None)],
            [(0, "NVIDIA H100 80GB HBM3", 81559, 11125, 433.78, None)],
        ])

    def test_a_windows_rtx_2080_s_answer(self) -> None:
        sections = self.query_sections("exporter_capture_windows_rtx2080super_610.62.sliced.txt")
        read = [parse_csv(section) for section in sections]
        self.assertEqual([[(g["index"], g["name"], g["memory_total_mb"], g["memory_used_mb"], g["utilization_gpu"], g["temperature_c"]) for g in gpus] for gpus in read], [
            [(0, "NVIDIA GeForce RTX 2080 SUPER", 8192, 797, 0, 40)],
            [(0, "NVIDIA GeForce RTX 2080 SUPER", 8192, 1366, 7, 44)],
        ])

    def test_a_p100_s_answer_without_memory_total_reports_the_used_memory_alone(self) -> None:
        gpus = parse_csv(self.read("netdata_tesla-p100.csv"))
        self.assertEqual([(g["index"], g["name"], g["memory_total_mb"], g["memory_used_mb"], g["temperature_c"]) for g in gpus], [(0, "Tesla P100-PCIE-16GB", None, 0, 37)])

    def test_the_shared_stand_in_answering_from_nvidia_smi_q_x_captures_with_its_header(self) -> None:
        # test/fixtures/nvidia-smi (a node script, as the Node probe's tests use it), first on PATH
        fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "test", "fixtures")
        if shutil.which("node") is None:
            self.skipTest("node not on PATH: the shared stand-in nvidia-smi is a node script")
        known = {  # (used, total) as test/gpu.test.ts reads them by hand from the XML
            "pai_nvidia_smi_out_of_order.xml": (4, 587 + 587, 4 * 11441),
            "telegraf_dual_a5000-v13.xml": (2, 22437 + 17253, 2 * 24564),
            "netdata_a100-sxm4-mig.xml": (1, 38, 40960),
            "pai_nvidia_smi_outdated_gpu.xml": (1, None, None),
        }
        path = os.environ.get("PATH", "")
        self.addCleanup(os.environ.__setitem__, "PATH", path)
        os.environ["PATH"] = fixtures + os.pathsep + path
        read = {}
        for name in known:
            os.environ["FAKE_NVIDIA_SMI_CAPTURE"] = os.path.join(CORPUS, name)
            snapshot = GpuProbe().snapshot()
            read[name] = (len(snapshot["gpus"]), snapshot["vram_used_mb"], snapshot["vram_total_mb"])
        os.environ.pop("FAKE_NVIDIA_SMI_CAPTURE", None)
        self.assertEqual(read, known)

    def test_an_h200_s_answer_to_runlog_s_query_without_a_header(self) -> None:
        gpus = parse_csv(self.read("h200_driver580_query.csv"))
        self.assertEqual([(g["index"], g["name"], g["memory_total_mb"], g["memory_used_mb"], g["power_draw_w"]) for g in gpus], [(0, "NVIDIA H200", 143771, 0, 81.95)])


if __name__ == "__main__":
    unittest.main()
