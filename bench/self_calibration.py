"""The self-calibrating gate against the fixed weights, on both question sets, through the CLI a user runs.

    .venv/bin/python -m bench.self_calibration

For each set (the sample space and the transfer set): ingest with HELPDESK_SELF_CALIBRATION=1 (the fit on
pseudo-questions is printed), then `helpdesk eval` with the fixed weights (before), with the index's pseudo-question
calibration (after), and with a fit on the set's own labelled questions (`helpdesk calibrate --questions`, an
in-sample upper bound). Prints AUROC, uncovered->ticket and covered->ticket side by side (docs/decisions/0014).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETS = (("sample", "it-space"), ("transfer", "transfer-m365"))
FIXED = '{"bias": -11.473, "dense_top": 15.191, "lexical_match": 9.966}'


def cli(*args: str, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    home = tempfile.mkdtemp(prefix="bench-selfcal-")
    env = {"HELPDESK_HOME": home, "HELPDESK_SELF_CALIBRATION": "1"}
    print("set        gate                       AUROC   uncovered->ticket  covered->ticket  threshold")
    for name, folder in SETS:
        index = str(Path(home) / folder)
        questions = str(ROOT / "examples" / f"{folder}-questions.jsonl")
        fit = cli("ingest", "--source", f"export:{ROOT / 'examples' / folder}", "--index", index, "--json", env=env)[
            "calibration"
        ]
        print(
            f"{name:10} pseudo fit (in-sample)     {fit['auroc']:.3f}   {fit['uncovered_ticket_rate']:.3f}"
            f"              {fit['covered_ticket_rate']:.3f}            {fit['threshold']:.4f}"
            f"   ({fit['questions_used']} of {fit['questions']} pseudo-questions)"
        )
        runs = (
            ("fixed weights (before)", {"HELPDESK_CONFIDENCE_WEIGHTS": FIXED}, None),
            ("self-calibrated (after)", {}, None),
            ("labelled fit (in-sample)", {}, questions),
        )
        for label, extra, labelled in runs:
            threshold = "0.631" if extra else ""
            if labelled:
                threshold = (
                    f"{cli('calibrate', '--index', index, '--questions', labelled, '--json', env=env)['threshold']:.4f}"
                )
            elif not extra:
                threshold = f"{fit['threshold']:.4f}"
            m = cli("eval", questions, "--index", index, "--out", os.devnull, "--json", env={**env, **extra})
            print(
                f"{name:10} {label:26} {m['auroc']:.3f}   {m['uncovered_ticket_rate']:.3f}              "
                f"{m['covered_ticket_rate']:.3f}            {threshold}"
            )


if __name__ == "__main__":
    main()
