"""The self-calibrating gate through the real CLI: ingest -> calibrate -> ask, Titan's calls, and bad input."""

import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.titan import TitanFake
from support import ROOT, SAMPLE_EXPORT, page_object, write_export

from index_store.local import LocalIndexStore

QUESTIONS = ROOT / "examples" / "it-space-questions.jsonl"


def run(*args: str, env: dict, check_rc: int | None = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=120,
    )
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr
    return proc


def last_json(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


def manifest_calibration(index: Path) -> dict | None:
    return LocalIndexStore(index).load().calibration


@pytest.fixture
def env(tmp_path: Path) -> dict:
    return {"HELPDESK_HOME": str(tmp_path / "home")}


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory) -> Path:
    """The sample space indexed once without a calibration; each test works on its own copy."""
    base = tmp_path_factory.mktemp("calib-base")
    run("ingest", "--source", f"export:{SAMPLE_EXPORT}", "--index", str(base / "idx"), env={"HELPDESK_HOME": str(base)})
    return base / "idx"


@pytest.fixture
def index(sample_index: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(sample_index, tmp_path / "idx"))


def test_ingest_calibrates_the_index_and_ask_answers_with_its_gate(env: dict, tmp_path: Path) -> None:
    index = tmp_path / "idx"
    on = {**env, "HELPDESK_SELF_CALIBRATION": "1"}
    s = last_json(run("ingest", "--source", f"export:{SAMPLE_EXPORT}", "--index", str(index), "--json", env=on))
    fit = s["calibration"]
    assert fit["status"] == "fitted" and fit["source"] == "pseudo" and s["calibration_calls"] == 0
    assert fit["auroc"] >= 0.6 and fit["covered_ticket_rate"] <= 0.05
    stored = manifest_calibration(index)
    assert stored is not None and stored["threshold"] == fit["threshold"] and stored["weights"] == fit["weights"]
    assert stored["embedder_id"].startswith("model2vec/") and stored["covered"] == stored["uncovered"] > 40
    assert LocalIndexStore(index).current_version() == s["index_version"]

    again = last_json(run("ingest", "--source", f"export:{SAMPLE_EXPORT}", "--index", str(index), "--json", env=on))
    assert again["index_version"] == s["index_version"] and again["calibration"]["status"] == "kept"

    answered = json.loads(
        run("ask", "how do I connect a guest to the wifi?", "--index", str(index), "--json", env=on).stdout
    )
    assert answered["decision"] == "answer" and answered["confidence"] >= fit["threshold"]


def test_labelled_questions_fit_and_an_ingest_keeps_that_fit(env: dict, tmp_path: Path) -> None:
    index = tmp_path / "idx"
    s = last_json(run("ingest", "--source", f"export:{SAMPLE_EXPORT}", "--index", str(index), "--json", env=env))
    assert s["calibration"]["status"] == "off" and manifest_calibration(index) is None

    out = run("calibrate", "--index", str(index), "--questions", str(QUESTIONS), env=env)
    assert "118 covered / 38 uncovered labelled questions: AUROC 0.9" in out.stdout
    assert "uncovered -> ticket" in out.stdout and "covered -> ticket" in out.stdout
    fitted = manifest_calibration(index)
    assert fitted is not None and fitted["source"] == "labelled"

    full = last_json(
        run("ingest", "--source", f"export:{SAMPLE_EXPORT}", "--index", str(index), "--full", "--json", env=env)
    )
    assert full["published"] and full["calibration"]["status"] == "kept"
    assert manifest_calibration(index) == fitted


def test_unknown_page_in_labelled_questions_is_exit_2_naming_the_line(env: dict, index: Path, tmp_path: Path) -> None:
    version = LocalIndexStore(index).current_version()
    bad = tmp_path / "q.jsonl"
    bad.write_text(
        json.dumps({"id": "a", "question": "vpn", "gold_page_ids": ["100101"]})
        + "\n"
        + json.dumps({"id": "b", "question": "printer", "gold_page_ids": ["999999"]})
        + "\n"
    )
    proc = run("calibrate", "--index", str(index), "--questions", str(bad), env=env, check_rc=2)
    assert f"{bad}:2:" in proc.stderr and "999999" in proc.stderr and "Traceback" not in proc.stderr
    assert LocalIndexStore(index).current_version() == version


def test_a_fit_that_separates_nothing_keeps_the_previous_weights(env: dict, index: Path, tmp_path: Path) -> None:
    run("calibrate", "--index", str(index), "--questions", str(QUESTIONS), env=env)
    before, version = manifest_calibration(index), LocalIndexStore(index).current_version()
    rows = [json.loads(x) for x in QUESTIONS.read_text().splitlines() if x.strip()][:15]
    same = tmp_path / "same.jsonl"  # every question both covered and uncovered: nothing to separate
    same.write_text(
        "".join(
            json.dumps({"id": f"{r['id']}{k}", "question": r["question"], "gold_page_ids": g}) + "\n"
            for r in rows
            for k, g in (("c", ["100101"]), ("u", []))
        )
    )
    proc = run("calibrate", "--index", str(index), "--questions", str(same), "--json", env=env)
    result = last_json(proc)
    assert result["status"] == "kept" and result["auroc"] == 0.5
    assert "separates nothing, so the previous calibration stays" in proc.stderr
    assert LocalIndexStore(index).current_version() == version and manifest_calibration(index) == before


def test_fewer_than_20_pages_keep_the_fixed_weights_with_one_warning(env: dict, tmp_path: Path) -> None:
    export = write_export(
        tmp_path / "small",
        [
            page_object(str(100 + i), f"Page {i} about topic {i}", f"<p>Body of page {i} on subject {i}.</p>")
            for i in range(5)
        ],
    )
    index = tmp_path / "idx"
    on = {**env, "HELPDESK_SELF_CALIBRATION": "1"}
    proc = run("ingest", "--source", f"export:{export}", "--index", str(index), "--json", env=on)
    warnings = [x for x in proc.stderr.splitlines() if "calibration" in x]
    assert warnings == [
        "warning: calibration: 5 pages (fewer than 20) are too few to fit on; the gate keeps its fixed weights"
    ]
    assert last_json(proc)["calibration"]["status"] == "skipped" and manifest_calibration(index) is None


def test_a_calibration_with_nan_weights_is_ignored_with_a_warning(env: dict, index: Path, tmp_path: Path) -> None:
    store = LocalIndexStore(index)
    bundle = store.load(with_embeddings=True)
    bundle.calibration = {
        "weights": {"bias": math.nan, "dense_top": 1.0},
        "threshold": 0.5,
        "embedder_id": bundle.embedder_id,
    }
    bundle.version = bundle.version + "-nan"
    store.publish(bundle)
    assert math.isnan(manifest_calibration(index)["weights"]["bias"])
    proc = run("ask", "how do I connect a guest to the wifi?", "--index", str(index), "--json", env=env)
    assert json.loads(proc.stdout)["decision"] == "answer"  # the fixed weights decide, not a NaN
    assert "calibration is ignored" in proc.stderr and "NaN" in proc.stderr


@pytest.fixture
def titan(env: dict) -> Iterator[dict]:
    with TitanFake() as fake:
        yield {
            **env,
            "HELPDESK_EMBEDDER": "bedrock",
            "HELPDESK_SELF_CALIBRATION": "1",
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": fake.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "fake": fake,
        }


def test_titan_calibration_calls_are_counted_capped_and_reused(titan: dict, tmp_path: Path) -> None:
    fake = titan.pop("fake")
    index = tmp_path / "idx"
    s = last_json(run("ingest", "--source", f"export:{SAMPLE_EXPORT}", "--index", str(index), "--json", env=titan))
    pages = s["pages_seen"] - s["pages_skipped"]
    assert 0 < s["calibration_calls"] <= 2 * pages
    assert fake.calls == s["embed_calls"] + s["calibration_calls"]
    assert manifest_calibration(index)["embedder_id"].startswith("bedrock/")

    calls = fake.calls
    refit = last_json(run("calibrate", "--index", str(index), "--json", env=titan))
    assert refit["calibration_calls"] == 0 and fake.calls == calls  # every pseudo-question's vector was cached
