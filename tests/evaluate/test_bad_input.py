"""Bad input to `python -m harness run` and `export`: one line that names the file and says what to do,
nothing half written, nothing lost, and no torch import on the way to the error (a user error costs about
what a successful `compare` does)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.evaluate import Journal, RunFolder
from harness.records import RunSettings, SampleRow

ROOT = Path(__file__).resolve().parents[2]

# Runs the CLI in-process and reports whether torch was imported on the way.
PROBE = """
import sys
from harness.cli import main
code = main(sys.argv[1:])
print("torch imported" if "torch" in sys.modules else "torch not imported")
sys.exit(code)
"""


def _cli(*args):
    r = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    return r.returncode, r.stderr.strip().splitlines(), r.stdout


@pytest.fixture
def model(har_model, tmp_path):
    """A copy of a trained model to damage."""
    dst = tmp_path / "har-kp-lstm"
    shutil.copytree(har_model, dst)
    return dst


def _refused(code, err, out, *needles):
    assert code == 2 and len(err) == 1 and err[0].startswith("error: "), err
    for n in needles:
        assert n in err[0], (n, err[0])
    assert "torch not imported" in out


def test_a_model_pt_that_is_not_a_checkpoint(model, tmp_path):
    (model / "model.pt").write_bytes(b"not a checkpoint at all")
    for verb in (("run", "--board", "qemu-m4", "--models", model, "--report-dir", tmp_path / "run"),
                 ("export", model)):
        _refused(*_cli(*verb), str(model / "model.pt"), "not a PyTorch checkpoint", "train the model again")
    assert not (tmp_path / "run").exists()   # nothing half written


def test_a_model_json_that_is_not_json_names_file_and_line(model, tmp_path):
    text = (model / "model.json").read_text()
    (model / "model.json").write_text(text[: len(text) // 2])
    code, err, out = _cli("run", "--board", "qemu-m4", "--models", model, "--report-dir", tmp_path / "run")
    _refused(code, err, out, str(model / "model.json"), "is not valid JSON", "at line")
    assert not (tmp_path / "run").exists()


def test_a_model_json_that_breaks_the_schema_names_the_field(model, tmp_path):
    card = json.loads((model / "model.json").read_text())
    card["accuracy"]["test"] = "high"
    (model / "model.json").write_text(json.dumps(card))
    _refused(*_cli("run", "--board", "qemu-m4", "--models", model, "--report-dir", tmp_path / "run"),
             str(model / "model.json"), "field accuracy/test")


def _resumable(run_dir: Path, model: Path, lines: list[bytes]) -> None:
    """A run folder as an interrupted `run --board qemu-m4 --models MODEL --limit 5` leaves it."""
    settings = RunSettings("qemu-m4", "int8", 5, [str(model.resolve())])
    folder = RunFolder(run_dir, "qemu-m4", settings=settings)
    folder.journal.write(SampleRow("m", "h", "int8", 0, 1, 1, 1, 0.0, 10, False, "qemu:mps2-an386"))
    folder.close()
    with open(run_dir / "samples.jsonl", "ab") as fh:
        fh.write(b"".join(lines))


def test_a_damaged_journal_line_on_resume_names_file_and_line(model, tmp_path):
    run_dir = tmp_path / "run"
    good = SampleRow("m", "h", "int8", 1, 1, 1, 1, 0.0, 10, False, "qemu:mps2-an386").to_line().encode() + b"\n"
    _resumable(run_dir, model, [b'{"model": "m", "inde\n', good])
    before = (run_dir / "samples.jsonl").read_bytes()
    _refused(*_cli("run", "--board", "qemu-m4", "--models", model, "--limit", 5, "--report-dir", run_dir, "--resume"),
             str(run_dir / "samples.jsonl"), "line 2", "delete that line")
    assert (run_dir / "samples.jsonl").read_bytes() == before   # nothing lost


def test_a_cut_last_journal_line_is_dropped_on_resume(model, tmp_path):
    from harness.evaluate import read_journal
    run_dir = tmp_path / "run"
    _resumable(run_dir, model, [b'{"model": "m", "inde'])
    assert [r.index for r in read_journal(run_dir / "samples.jsonl")] == [0]
    Journal(run_dir / "samples.jsonl").close()   # what a resumed run does first
    assert (run_dir / "samples.jsonl").read_bytes().endswith(b"}\n")


def test_a_report_folder_that_cannot_be_written(model, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    _refused(*_cli("run", "--board", "qemu-m4", "--models", model, "--report-dir", blocker / "run"),
             "cannot write the run folder", str(blocker / "run"), "choose a --report-dir")


@pytest.mark.parametrize("args,needle", [
    (("run", "--board", "nosuch", "--models", "."), "unknown board 'nosuch'"),
    (("run", "--board", "qemu-m4", "--models", "/nonexistent"), "/nonexistent does not exist"),
    (("run", "--board", "qemu-m4", "--models", ".", "--timeout", "0"), "--timeout must be a positive"),
    (("export", "/nonexistent"), "/nonexistent is not a model directory"),
    (("compare", "/nonexistent", "/nonexistent"), "/nonexistent is not a directory"),
])
def test_user_errors_are_one_line_without_torch(args, needle):
    _refused(*_cli(*args), needle)
