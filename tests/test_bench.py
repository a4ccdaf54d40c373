"""The benchmark harness against pastiche runs end to end (at a tiny size) and its report
reads what it wrote. Figures are not checked here: they live in docs/benchmarks.md."""

import json
import subprocess
import sys

from tests.conftest import REPO


def test_vs_pastiche_harness_runs_both_tools_and_scores_them(tmp_path):
    out = tmp_path / "vs.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "vs_pastiche.py"), "--speed", "--sizes", "64", "--steps", "8",
         "--warmup", "1", "--repeats", "1", "--series", "64:6", "--variants", "default", "--snapshot-every", "2",
         "--frame-every", "2", "--out", str(out), "--plot", str(tmp_path / "vs.png"), "--work", str(tmp_path / "w")],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    r = json.loads(out.read_text())
    tools = [row["tool"] for row in r["speed"]]
    assert tools[0] == "pastiche" and len(tools) == 4
    for row in r["speed"]:
        assert row["s_per_step"] > 0 and row["peak_mib"] > 0 and row["ratio_to_pastiche"] > 0
    lbfgs_default = r["speed"][-1]
    assert lbfgs_default["evals_per_step"] > 1  # strong Wolfe evaluates more than once a step
    assert r["speed"][1]["evals_per_step"] == 1  # pastiche's settings: one evaluation a step
    series = r["series"][0]
    default = "paramart (default: pixel, L-BFGS without line search, default precision)"
    assert set(series["curves"]) == {"pastiche", default}
    pastiche = series["curves"]["pastiche"]
    assert len(pastiche) == 5  # snapshots at steps 0, 2, 4, 6 and the output
    # step 0 is the photo itself (resized by pastiche, so not exactly the judge's target)
    assert pastiche[0]["content"] < pastiche[-1]["content"]
    assert pastiche[-1]["total"] < pastiche[0]["total"]
    assert (tmp_path / "vs.png").stat().st_size > 0
    report = subprocess.run([sys.executable, str(REPO / "bench" / "report.py"), str(tmp_path)],
                            capture_output=True, text=True, check=True).stdout
    assert "ratio to pastiche" in report and "fraction of pastiche's time" in report
