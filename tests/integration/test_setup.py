"""The first run: scripts/setup.sh's choices in a clean venv (CPU torch from PyTorch's CPU index where the machine
keeps no wheel of its own), no sudo anywhere in `make test`, and `--version` on every command."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def plan(tmp_path: Path, **env) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    done = subprocess.run(["scripts/setup.sh"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
                          env={**clean, "VENV": str(tmp_path / "venv"), "SMALLRAG_SETUP_PLAN": "1", **env})
    return done.stdout


def test_a_plain_machine_gets_the_cpu_build_of_torch(tmp_path):
    # No pip configuration at all: no local wheel folder, no extra index (os.devnull is pip's "read no file").
    out = plan(tmp_path, PIP_CONFIG_FILE=os.devnull)
    assert "torch: torch==2.13.0 from PyTorch's CPU index, https://download.pytorch.org/whl/cpu" in out
    assert (tmp_path / "venv" / "bin" / "python").exists()  # a clean venv of its own


def test_a_machine_with_its_own_torch_wheel_uses_it(tmp_path):
    if not list(Path(os.environ.get("PIP_FIND_LINKS", "/nonexistent")).glob("torch-2.13.0*.whl")):
        pytest.skip("this machine keeps no torch wheel of its own")
    assert "torch: torch==2.13.0 from the wheel this machine keeps (torch-2.13.0+cpu" in plan(
        tmp_path, PIP_FIND_LINKS=os.environ["PIP_FIND_LINKS"])


def test_nothing_make_test_runs_calls_sudo():
    for path in [ROOT / "Makefile", *sorted((ROOT / "scripts").glob("*.sh")), ROOT / ".ci" / "run"]:
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            if line.lstrip().startswith("#"):
                continue
            code = re.sub(r'"[^"]*"|\'[^\']*\'', "", line.split(" #", 1)[0])  # a line told in a message is fine
            assert not re.search(r"\bsudo\b", code), f"{path.name}:{n} calls sudo: {line.strip()}"


@pytest.mark.parametrize("command", [["rag"], ["ingest"], ["ingest", "worker"]])
def test_every_command_tells_its_version(command):
    binary = Path(sys.executable).parent / command[0]
    out = subprocess.run([str(binary), *command[1:], "--version"], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    assert re.match(rf"{' '.join(command)} \d+\.\d+\.\d+ \(Python 3\.\d+\.\d+; llama-cpp-python 0\.3\.36, torch ", out)
