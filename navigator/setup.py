"""Set-up steps after the venv exists (`make setup` runs `python -m navigator.setup`).

Each step is skipped when what it would build is already there and its inputs have not changed,
so a second `make run` starts in seconds: the gazetteer, the spaCy pipeline, the database
schema, the demo directory (embedded default only) and the trained Rasa model.
"""
from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import time
from pathlib import Path

from infra.config import BUILD_DIR, ROOT

logger = logging.getLogger("navigator.setup")

MODELS_DIR = ROOT / "models"
# What the trained model depends on. The custom components' code is loaded from source at run
# time, so changing it (or the safety lexicon) needs no retraining.
TRAINING_INPUTS = ("config.yml", "domain.yml", "bot/data")


def _files(paths: tuple[str, ...]) -> list[Path]:
    found: list[Path] = []
    for name in paths:
        path = ROOT / name
        found.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    return found


def fingerprint(paths: tuple[str, ...], *extra: str) -> str:
    digest = hashlib.sha256()
    for path in _files(paths):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    for item in extra:
        digest.update(item.encode())
    return digest.hexdigest()[:16]


def model_path() -> Path:
    """Where the model trained from the current data and config is (or will be)."""
    import rasa  # TensorFlow comes with it: only the steps that need Rasa pay for it

    return MODELS_DIR / f"navigator-{fingerprint(TRAINING_INPUTS, rasa.__version__)}.tar.gz"


def _stamp_ok(stamp: Path, value: str, output: Path) -> bool:
    return output.exists() and stamp.exists() and stamp.read_text() == value


def ensure_gazetteer() -> None:
    from resources.places import gazetteer  # each step imports what it builds (a no-op set-up stays fast)

    if gazetteer.CACHE_PATH.exists():
        return
    gazetteer.build_cache()


def ensure_spacy_pipeline() -> None:
    # each step imports what it builds (a no-op set-up stays fast)
    from bot.nlp import pipeline
    from resources.places import gazetteer

    stamp = BUILD_DIR / "spacy_pipeline.stamp"
    value = fingerprint(("bot/nlp/pipeline.py", "resources/places/gazetteer.py"), str(gazetteer.CACHE_VERSION))
    if _stamp_ok(stamp, value, pipeline.PIPELINE_PATH):
        return
    _step("building the spaCy pipeline", pipeline.save_pipeline)
    stamp.write_text(value)


def ensure_safety_model() -> None:
    """The emergency classifier, retrained when its labelled data or its code changed."""
    from bot.components import safety, safety_model  # Rasa and TensorFlow: only this step needs them

    stamp = BUILD_DIR / "safety_model.stamp"
    value = fingerprint(("bot/components/safety_data", "bot/components/safety_model.py",
                         "bot/components/safety.py", "bot/components/safety_lexicon.yml",
                         "bot/nlp/sentence_encoder.py", "bot/data"))
    if _stamp_ok(stamp, value, safety_model.MODEL_PATH):
        return
    _step("training the emergency classifier", safety.build_model)
    stamp.write_text(value)


def ensure_schema() -> None:
    from navigator import schema  # loads every table's owner: only the step that needs them pays for it

    schema.create_schema()


def ensure_demo_directory() -> None:
    from resources.demo import load_demo_if_empty  # the importer: only this step needs it

    if load_demo_if_empty():
        print("setup: loaded the demo directory into the embedded database", flush=True)


def ensure_model() -> Path:
    target = model_path()
    if target.exists():
        return target
    MODELS_DIR.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "rasa", "train", "--config", "config.yml", "--domain", "domain.yml",
               "--data", "bot/data", "--out", str(MODELS_DIR), "--fixed-model-name", target.name[:-7]]
    started = time.monotonic()
    log_path = BUILD_DIR / "train.log"
    print(f"setup: training the Rasa model (data or config changed; log: {log_path.relative_to(ROOT)})...",
          flush=True)
    with open(log_path, "w") as log:
        result = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        print("".join(log_path.read_text(errors="replace").splitlines(keepends=True)[-40:]), file=sys.stderr)
        raise SystemExit(f"setup: training failed (exit {result.returncode}); see {log_path}")
    print(f"setup: trained in {time.monotonic() - started:.0f} s -> {target.relative_to(ROOT)}", flush=True)
    for old in MODELS_DIR.glob("navigator-*.tar.gz"):
        if old != target:
            old.unlink()
    return target


def _step(label: str, func) -> None:
    started = time.monotonic()
    print(f"setup: {label}...", flush=True)
    func()
    print(f"setup: {label}: done in {time.monotonic() - started:.1f} s", flush=True)


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    BUILD_DIR.mkdir(exist_ok=True)
    ensure_gazetteer()
    ensure_spacy_pipeline()
    ensure_safety_model()
    ensure_schema()
    ensure_demo_directory()
    ensure_model()
    return 0


if __name__ == "__main__":
    sys.exit(main())
