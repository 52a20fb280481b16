"""What the fuzz harnesses share: the project on sys.path, libFuzzer defaults that catch a slow or
memory-hungry input as well as a crash, and ways to turn fuzz bytes into the text a parser gets.

A harness imports this first, imports the modules it fuzzes inside `instrumented()` (so atheris
sees their branches), and calls `fuzz(one_input)`. Only the error a parser documents is caught in
`one_input`; anything else reaches atheris, which stops and writes the input that caused it.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import atheris  # noqa: E402

ARTIFACTS = Path(os.environ.get("FUZZ_ARTIFACTS", "/tmp/navigator-fuzz"))
# An input that takes 10 s or 3 GB is a finding too (a survivor's message must be answered at once).
DEFAULTS = ("-timeout=10", "-rss_limit_mb=3072")
# Pieces of what the parsers look for, so mutations reach past their first checks quickly.
DICTIONARY = [
    "in ", "near ", "zip ", ", ", "San Mateo", "Springfield", "Omaha", "NE", "CA", "LA", "St. ", "94401",
    "68102-1234", "9:00am", "12pm", "17:00:00", "MO,TU", "Monday", "1MO", "24/7", "https://", "www.",
    "ages 12-17", "under 18", "55 or over", "BH-1800.1500-100", "1121", "\\n", "GÇô",
]


def instrumented():
    """Context in which imported project modules get atheris' coverage instrumentation."""
    return atheris.instrument_imports(include=["resources", "bot", "navigator"])


def text(fdp: atheris.FuzzedDataProvider, max_chars: int = 400) -> str:
    """Text from fuzz bytes: any Unicode, or a mix of dictionary words and raw characters."""
    if fdp.ConsumeBool():
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, max_chars))
    parts = []
    for _ in range(fdp.ConsumeIntInRange(0, 8)):
        parts.append(fdp.PickValueInList(DICTIONARY) if fdp.ConsumeBool()
                     else fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 12)))
    return "".join(parts)


def maybe_text(fdp: atheris.FuzzedDataProvider, max_chars: int = 80) -> str | None:
    return None if fdp.ConsumeIntInRange(0, 4) == 0 else text(fdp, max_chars)


def fuzz(one_input) -> None:
    name = Path(sys.argv[0]).stem
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    args = [sys.argv[0], *(d for d in DEFAULTS if not any(a.startswith(d.split("=")[0] + "=") for a in sys.argv)),
            *sys.argv[1:]]
    if not any(a.startswith("-artifact_prefix=") for a in args):
        args.append(f"-artifact_prefix={ARTIFACTS}/{name}-")
    atheris.Setup(args, one_input)
    atheris.Fuzz()
