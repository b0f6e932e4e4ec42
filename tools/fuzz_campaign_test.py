#!/usr/bin/env python3
"""The fuzz campaign runner's ledger: rows appended under one header, which runs are
recorded, the per-target summary and the table it writes into fuzz/README.md."""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fuzz_campaign as fc  # noqa: E402


def row(target, seconds, jobs=1, executions="1000", date="2026-11-26T10:00:00Z", **more):
    r = {"date": date, "target": target, "engine": "libfuzzer", "seconds": str(seconds),
         "jobs": str(jobs), "executions": executions, "edges_before": "10", "edges_after": "12",
         "findings": "0", "merged": "yes"}
    r.update(more)
    return r


class LedgerTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.ledger = os.path.join(self.dir.name, "ledger.csv")

    def tearDown(self):
        self.dir.cleanup()

    def test_rows_append_under_one_header(self):
        fc.append_ledger(self.ledger, [row("a_fuzzer", 60)])
        fc.append_ledger(self.ledger, [row("b_fuzzer", 30, jobs=2), row("a_fuzzer", 10)])
        lines = open(self.ledger).read().splitlines()
        self.assertEqual(lines[0], ",".join(fc.LEDGER_FIELDS))
        self.assertEqual(len(lines), 4)
        rows = fc.read_ledger(self.ledger)
        self.assertEqual([r["target"] for r in rows], ["a_fuzzer", "b_fuzzer", "a_fuzzer"])
        self.assertEqual(rows[1]["jobs"], "2")
        self.assertEqual(rows[0]["note"], "")  # fields not given are empty, not missing

    def test_merging_runs_are_recorded_smoke_runs_only_when_asked(self):
        self.assertTrue(fc.records(fc.parse_args(["--time", "5", "x"])))
        self.assertFalse(fc.records(fc.parse_args(["--no-merge", "x"])))
        self.assertTrue(fc.records(fc.parse_args(["--no-merge", "--record", "x"])))
        self.assertFalse(fc.records(fc.parse_args(["--no-record", "x"])))

    def test_summary_adds_cpu_time_and_takes_the_latest_row(self):
        rows = [row("a_fuzzer", 600, date="2026-11-26T10:00:00Z"),
                row("a_fuzzer", 300, jobs=2, executions="", date="2026-11-27T10:00:00Z",
                    findings="1"),
                row("b_fuzzer", 10)]
        summary = fc.summarize(rows, ["a_fuzzer", "b_fuzzer", "c_fuzzer"])
        self.assertEqual(summary["a_fuzzer"]["cpu"], 600 + 300 * 2)
        self.assertEqual(summary["a_fuzzer"]["campaigns"], 2)
        self.assertTrue(summary["a_fuzzer"]["unknown_executions"])
        self.assertEqual(summary["a_fuzzer"]["last"]["date"], "2026-11-27T10:00:00Z")
        self.assertEqual(summary["c_fuzzer"]["campaigns"], 0)
        table = fc.render_table(summary)
        self.assertIn("| a_fuzzer | 2 | 20 min | ≥ 1k | 2026-11-27, libfuzzer, 300 s × 2: "
                      "1 finding(s), edges 10 → 12 |", table)
        self.assertIn("| b_fuzzer | 1 | 10 s | 1k |", table)
        self.assertIn("| c_fuzzer | 0 | 0 s | 0 | never fuzzed |", table)

    def test_durations(self):
        self.assertEqual(fc.format_duration(45), "45 s")
        self.assertEqual(fc.format_duration(610), "10 min")
        self.assertEqual(fc.format_duration(2 * 3600 + 5 * 60), "2 h 05 min")

    def test_table_replaces_only_what_is_between_the_markers(self):
        readme = os.path.join(self.dir.name, "README.md")
        with open(readme, "w") as f:
            f.write(f"intro\n{fc.TABLE_BEGIN}\nold table\n{fc.TABLE_END}\noutro\n")
        fc.update_readme(readme, "| new |")
        self.assertEqual(open(readme).read(),
                         f"intro\n{fc.TABLE_BEGIN}\n| new |\n{fc.TABLE_END}\noutro\n")
        with open(readme, "w") as f:
            f.write("no markers\n")
        with self.assertRaises(SystemExit):
            fc.update_readme(readme, "| new |")

    def test_the_committed_ledger_reads_and_names_known_targets(self):
        rows = fc.read_ledger(fc.LEDGER)
        self.assertGreater(len(rows), 0)
        known = set(fc.all_targets())
        for r in rows:
            self.assertIn(r["target"], known)
            self.assertIn(r["engine"], ("libfuzzer", "afl"))
            self.assertGreater(int(r["seconds"]), 0)


if __name__ == "__main__":
    unittest.main()
