"""The indexing contract as data: the shipped scenarios pass on the reference, a runner fails on an altered
expectation naming the scenario, the step and the first difference, and the files are what the writer
makes of the demo bundle (so the replayed vectors are the reference's)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pocketclip.runtime.indexing.conformance import SCENARIOS, ScenarioError, run_folder
from pocketclip.runtime.indexing.scenario_writer import write

POCKETCLIP = Path(sys.executable).with_name("pocketclip")


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(POCKETCLIP), "conformance", "run", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_every_shipped_scenario_passes_on_the_reference():
    done = cli("--json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["failed"] == 0 and report["passed"] >= 30
    rules = {rule for path in SCENARIOS.glob("*.json") if path.name != "models.json"
             for rule in json.loads(path.read_text())["rules"]}
    documented = set(__import__("re").findall(r"\*\*(R\d+) ", (Path(__file__).parents[2] / "docs" /
                                                                "conformance.md").read_text()))
    assert documented and documented == rules, "every rule of the contract is exercised by a scenario"


@pytest.fixture
def scenario_copy(tmp_path):
    folder = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, folder)
    return folder


def test_an_altered_expectation_fails_naming_scenario_step_and_difference(scenario_copy):
    path = next(scenario_copy.glob("09-restore-same-path.json"))
    scenario = json.loads(path.read_text())
    scenario["steps"][2]["expect"]["report"]["restored"] = 0  # the contract says: restored without embedding
    path.write_text(json.dumps(scenario))
    done = cli(scenario_copy)
    assert done.returncode == 1
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert failed == ["FAIL 09-restore-same-path (3 steps): restore-same-path: step 3 (restore): report restored: "
                      "expected 0, got 1"]


def test_an_altered_photo_expectation_names_the_photo(scenario_copy):
    path = next(scenario_copy.glob("06-move-keeps-vector.json"))
    scenario = json.loads(path.read_text())
    moved = next(p for p in scenario["steps"][1]["expect"]["photos"] if p["path"] == "Camera/red-renamed.png")
    moved["vector"] = False
    path.write_text(json.dumps(scenario))
    results = {r.scenario: r for r in run_folder(scenario_copy)}
    assert not results["06-move-keeps-vector"].passed
    assert "step 2 (move): photo Camera/red-renamed.png vector: expected False, got True" in \
        results["06-move-keeps-vector"].difference
    assert sum(not r.passed for r in results.values()) == 1


@pytest.mark.parametrize("damage, message", [
    ("{not json", "01-first-index.json: not a scenario"),
    ('{"steps": [{"events": [{"add": "a.png", "content": "no-such-content"}]}]}',
     "01-first-index.json: step 1: unknown content 'no-such-content'"),
    ('{"steps": [{}, {"events": [{"jump": 1}]}]}', "01-first-index.json: step 2: an event needs exactly one of"),
    ('{"steps": [{"run": {"model": "nobody"}}]}', "01-first-index.json: step 1: unknown model 'nobody'"),
    ('{"steps": [{"events": [{"move": "x.png", "to": "y.png"}]}]}', "01-first-index.json: step 1: malformed"),
])
def test_a_malformed_scenario_is_one_line_naming_file_and_step(scenario_copy, damage, message):
    (scenario_copy / "01-first-index.json").write_text(damage)
    with pytest.raises(ScenarioError, match="^" + message.replace("(", r"\(").replace("[", r"\[")):
        run_folder(scenario_copy)
    done = cli(scenario_copy)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("Error: " + message) and len(done.stderr.strip().splitlines()) == 1


def test_a_folder_without_scenarios_is_one_line(tmp_path):
    done = cli(tmp_path)
    assert done.returncode == 1 and "models.json" in done.stderr and "Traceback" not in done.stderr


def test_the_shipped_scenarios_are_what_the_writer_makes_of_the_demo_bundle(int8_bundle, tmp_path):
    """The replayed vectors are the demo bundle's own (fp32 and int8 ONNX) and every expectation is the
    reference's: regenerate and compare file by file."""
    assert write(int8_bundle, tmp_path / "fresh") >= 30
    shipped = sorted(p.relative_to(SCENARIOS) for p in SCENARIOS.rglob("*") if p.is_file())
    fresh = sorted(p.relative_to(tmp_path / "fresh") for p in (tmp_path / "fresh").rglob("*") if p.is_file())
    assert shipped == fresh
    for name in shipped:
        if name.name == "models.json":
            ours, theirs = json.loads((SCENARIOS / name).read_text()), json.loads((tmp_path / "fresh" / name).read_text())
            assert ours.keys() == theirs.keys() and ours["contents"] == theirs["contents"]
            for model, spec in ours["models"].items():
                other = theirs["models"][model]
                assert {k: v for k, v in spec.items() if k != "vectors"} == \
                    {k: v for k, v in other.items() if k != "vectors"}
                assert spec["vectors"].keys() == other["vectors"].keys()
                for digest, vector in spec["vectors"].items():  # another CPU may round the last digit
                    assert max(abs(a - b) for a, b in zip(vector, other["vectors"][digest])) < 1e-4, (model, digest)
        else:
            assert (SCENARIOS / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name
