"""The committed docs/REPORT.md must match a fresh default run of reproduce.

Sections whose headings end with "(machine-dependent)" (machine, timing and
memory) are left out of the comparison. The run takes about half a minute.
"""

from pathlib import Path

from stablesgd_ref import pipeline, report, runner

ROOT = Path(__file__).resolve().parent.parent


def test_committed_report_matches_fresh_run(tmp_path):
    committed = (ROOT / "docs" / "REPORT.md").read_text()
    fresh = pipeline.reproduce(
        runner.parse_seeds("5"),
        out=str(tmp_path / "results"),
        figures=str(tmp_path / "figures"),
        log=lambda line: None,
    )
    committed_lines = report.strip_machine_dependent(committed).splitlines()
    fresh_lines = report.strip_machine_dependent(fresh).splitlines()
    for number, (old, new) in enumerate(zip(committed_lines, fresh_lines), 1):
        assert old == new, f"line {number} differs; rerun reproduce and copy REPORT.md"
    assert len(committed_lines) == len(fresh_lines)
