"""`--version` for every command: the project's version and the pinned parts that decide its answers."""

import platform
import sys
from importlib import metadata

PARTS = ("llama-cpp-python", "torch", "sentence-transformers", "chromadb")


def version_line(prog: str) -> str:
    def of(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    parts = ", ".join(f"{name} {of(name)}" for name in PARTS)
    return f"{prog} {of('smallrag')} (Python {platform.python_version()}; {parts})"


def answer_version(prog: str, args: list[str]) -> None:
    """Print the version line and exit when the command is asked for it."""
    if args[:1] in (["--version"], ["-V"]):
        print(version_line(prog))
        sys.exit(0)
