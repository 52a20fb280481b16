"""How well the assistant understands messages it was never trained on (`make eval`).

Runs the trained model over the held-out set (benchmarks/nlu/heldout.yml: messages written apart
from bot/data, with typos, slang and half sentences, labelled with intent and place) and reports:

- intent accuracy;
- kind accuracy: of the messages asking for a kind of help, the share answered with the right kind
  (the kind follows from the need_* intent; a message also taken for an emergency is answered with
  the kind the safety component kept), and how many other messages were wrongly given a kind;
- place accuracy: the share of all messages whose place (resolved as the bot resolves it, or
  none) is the labelled one, with recall and precision;
- both right: requests with a kind and a place that would get the right search at once.

Messages that also appear in the training data (after lower-casing and dropping punctuation:
bare "hey", "68102") are counted, and the figures are also given without them.

`--cv DIR` adds a summary of `rasa test nlu --cross-validation` results written to DIR.

    python benchmarks/nlu/evaluate.py [--model models/x.tar.gz] [--heldout FILE] [--cv results/nlu-cv]

Exits 1 when the kind accuracy (end to end, as the bot answers) or the place accuracy is below
its target (--min-kind, --min-place: 0.95); the classifiers' figures before the safety
component's override are printed beside them.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
HELDOUT_SETS = sorted(Path(__file__).parent.glob("heldout*.yml"))
TRAINING_DATA = ROOT / "bot" / "data"
SAFETY_COMPONENT = "SafetySignalClassifier"
KINDS = {"need_shelter": "shelter", "need_mental_health": "mental_health",
         "need_substance_use": "substance_use", "need_legal": "legal"}


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def training_texts(data_dir: Path = TRAINING_DATA) -> set:
    """Every training example, normalised (annotations such as [x]{...} reduced to their text)."""
    texts = set()
    for path in data_dir.rglob("*.yml"):
        for block in (yaml.safe_load(path.read_text()) or {}).get("nlu") or []:
            for line in (block.get("examples") or "").splitlines():
                line = re.sub(r"\[([^\]]*)\]\{[^}]*\}|\[([^\]]*)\]\([^)]*\)", r"\1\2", line.strip().lstrip("- "))
                if line:
                    texts.add(normalise(line))
    return texts


def load_heldout(path: Path) -> List[Dict[str, Any]]:
    messages = yaml.safe_load(path.read_text())["messages"]
    for m in messages:
        m["kind"] = KINDS.get(m["intent"])
    return messages


def resolved_place(entities: List[Dict[str, Any]]) -> Optional[str]:
    """The place the bot would search around, named as the bot names it, or None."""
    from resources.places.geocode import geocode

    values = [e["value"] for e in entities if e.get("entity") == "place"]
    if not values:
        return None
    place = geocode(values[0])
    return place.label if place else values[0]


_AGENTS: Dict[Path, Any] = {}


async def parse_all(model: Path, texts: List[str]) -> List[Dict[str, Any]]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.ERROR)  # Rasa's debug log would print every message
    if model not in _AGENTS:
        _AGENTS[model] = Agent.load(str(model))
    agent = _AGENTS[model]
    parsed = []
    for text in texts:
        started = time.perf_counter()
        result = await agent.parse_message(text)
        result["_ms"] = (time.perf_counter() - started) * 1000
        parsed.append(result)
    return parsed


def intent_before_safety(parsed: Dict[str, Any]) -> Optional[str]:
    """The intent as the classifiers gave it, before the safety component's override (the safety
    component puts `emergency` first in the ranking and keeps the rest in order)."""
    intent = (parsed.get("intent") or {}).get("name")
    overridden = any(e.get("extractor") == SAFETY_COMPONENT for e in parsed.get("entities") or [])
    ranking = parsed.get("intent_ranking") or []
    if intent == "emergency" and overridden and len(ranking) > 1:
        return ranking[1].get("name")
    return intent


def kind_served(intent: Optional[str], parsed: Dict[str, Any]) -> Optional[str]:
    """The kind of help the bot answers a message with: its need_* intent's, or, for a message
    the safety component took for an emergency, the kind it kept (`service_kind` entity), which
    the emergency answer serves after the 911 / 988 lines (bot/actions/handoff.py)."""
    if intent == "emergency":
        return next((e.get("value") for e in parsed.get("entities") or []
                     if e.get("entity") == "service_kind"), None)
    return KINDS.get(intent)


def score(messages: List[Dict[str, Any]], predictions: List[Dict[str, Any]],
          without_safety: bool = False) -> Dict[str, Any]:
    rows = []
    for m, p in zip(messages, predictions):
        intent = (p.get("intent") or {}).get("name")
        if without_safety:
            intent = intent_before_safety(p)
        place = resolved_place(p.get("entities") or [])
        rows.append({"text": m["text"], "intent": m["intent"], "got_intent": intent, "kind": m["kind"],
                     "got_kind": kind_served(intent, p), "place": m["place"], "got_place": place})

    def share(hits, total):
        return round(hits / total, 4) if total else None

    kind_rows = [r for r in rows if r["kind"]]
    other_rows = [r for r in rows if not r["kind"]]
    expected_places = [r for r in rows if r["place"]]
    found_places = [r for r in rows if r["got_place"]]
    requests = [r for r in rows if r["kind"] and r["place"]]
    return {
        "messages": len(rows),
        "intent_accuracy": share(sum(r["got_intent"] == r["intent"] for r in rows), len(rows)),
        "kind_accuracy": share(sum(r["got_kind"] == r["kind"] for r in kind_rows), len(kind_rows)),
        "kind_messages": len(kind_rows),
        "kind_given_wrongly": sum(bool(r["got_kind"]) for r in other_rows),
        "other_messages": len(other_rows),
        "place_accuracy": share(sum(r["got_place"] == r["place"] for r in rows), len(rows)),
        "place_recall": share(sum(r["got_place"] == r["place"] for r in expected_places), len(expected_places)),
        "place_precision": share(sum(r["got_place"] == r["place"] for r in found_places), len(found_places)),
        "places_labelled": len(expected_places),
        "kind_and_place_right": share(sum(r["got_kind"] == r["kind"] and r["got_place"] == r["place"]
                                          for r in requests), len(requests)),
        "requests_with_kind_and_place": len(requests),
        "escalated_wrongly": sum(r["got_intent"] == "emergency" for r in rows if r["intent"] != "emergency"),
        "emergencies_missed": sum(r["got_intent"] != "emergency" for r in rows if r["intent"] == "emergency"),
        "emergencies": sum(r["intent"] == "emergency" for r in rows),
        "errors": [r for r in rows if r["got_intent"] != r["intent"] or r["got_place"] != r["place"]],
    }


def cross_validation_summary(directory: Path) -> Dict[str, Any]:
    """Intent figures from `rasa test nlu --cross-validation` (its intent_report.json)."""
    report = json.loads((directory / "intent_report.json").read_text())
    kinds = {name: round(report[name]["f1-score"], 4) for name in KINDS if name in report}
    return {"accuracy": round(report.get("accuracy", 0.0), 4),
            "macro_f1": round(report["macro avg"]["f1-score"], 4),
            "weighted_f1": round(report["weighted avg"]["f1-score"], 4),
            "kind_f1": kinds}


def print_cross_validation(cv: Dict[str, Any]) -> None:
    print(f"cross-validation (rasa test nlu, 3 folds): intent accuracy {cv['accuracy']:.1%}, macro F1 "
          f"{cv['macro_f1']:.3f}, weighted F1 {cv['weighted_f1']:.3f}; kind F1: "
          + ", ".join(f"{k} {v:.3f}" for k, v in cv["kind_f1"].items()))


def print_report(figures: Dict[str, Any], clean: Dict[str, Any], overlap: int, latency: List[float]) -> None:
    def pct(x):
        return "n/a" if x is None else f"{100 * x:.1f} %"

    print(f"held-out set: {figures['messages']} messages ({overlap} also in the training data)")
    print(f"{'':34}{'all':>10}{'unseen only':>14}")
    for label, key in (("intent accuracy", "intent_accuracy"),
                       (f"kind accuracy ({figures['kind_messages']} asking)", "kind_accuracy"),
                       ("place accuracy (all)", "place_accuracy"),
                       (f"place recall ({figures['places_labelled']} named)", "place_recall"),
                       ("place precision", "place_precision"),
                       (f"kind and place both right ({figures['requests_with_kind_and_place']})",
                        "kind_and_place_right")):
        print(f"{label:34}{pct(figures[key]):>10}{pct(clean[key]):>14}")
    print(f"kind given to a message asking none: {figures['kind_given_wrongly']} of {figures['other_messages']}")
    print(f"taken for an emergency though none: {figures['escalated_wrongly']} of "
          f"{figures['messages'] - figures['emergencies']}; emergencies missed: {figures['emergencies_missed']} of "
          f"{figures['emergencies']} (emergency detection: bot/components/safety.py)")
    if latency:
        print(f"parse time: median {statistics.median(latency):.0f} ms, max {max(latency):.0f} ms")
    if figures["errors"]:
        print("\nerrors (text | intent want/got | place want/got):")
        for r in figures["errors"]:
            intent = r["intent"] if r["got_intent"] == r["intent"] else f"{r['intent']} / {r['got_intent']}"
            place = "" if r["got_place"] == r["place"] else f" | place {r['place']} / {r['got_place']}"
            print(f"  {r['text']!r} | {intent}{place}")


def evaluate_set(path: Path, model: Path, seen: set) -> Dict[str, Any]:
    """Parse one held-out file with the model; its figures, unseen-only figures, and the figures
    before the safety component's override (ordinary messages)."""
    messages = load_heldout(path)
    predictions = asyncio.run(parse_all(model, [m["text"] for m in messages]))
    pairs = list(zip(messages, predictions))
    unseen = [(m, p) for m, p in pairs if normalise(m["text"]) not in seen]
    ordinary = [(m, p) for m, p in pairs if m["intent"] != "emergency"]
    return {
        "file": path.name,
        "in_training_data": len(pairs) - len(unseen),
        "all": score(messages, predictions),
        "unseen_only": score([m for m, _ in unseen], [p for _, p in unseen]),
        "before_safety_override": score([m for m, _ in ordinary], [p for _, p in ordinary], without_safety=True),
        "latency_ms": [p["_ms"] for p in predictions],
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="trained model (default: the one for the current data)")
    parser.add_argument("--heldout", type=Path, nargs="+", default=HELDOUT_SETS,
                        help="held-out files (default: benchmarks/nlu/heldout*.yml, each reported apart)")
    parser.add_argument("--cv", type=Path, help="directory of `rasa test nlu --cross-validation` results")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "nlu-heldout.json")
    parser.add_argument("--min-kind", type=float, default=0.95)
    parser.add_argument("--min-place", type=float, default=0.95)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("rasa").setLevel(logging.ERROR)

    if args.model is None:
        from navigator.setup import model_path

        args.model = model_path()
    if not args.model.exists():
        print(f"no trained model at {args.model}: run `make setup` first", file=sys.stderr)
        return 2
    seen = training_texts()
    results = [evaluate_set(path, args.model, seen) for path in args.heldout]
    cv = cross_validation_summary(args.cv) if args.cv else None
    for result in results:
        print(f"=== {result['file']}")
        print_report(result["all"], result["unseen_only"], result["in_training_data"], result["latency_ms"])
        before = result["before_safety_override"]
        print(f"\nordinary messages as the classifiers gave them, before the safety component's override: "
              f"intent {before['intent_accuracy']:.1%}, kind {before['kind_accuracy']:.1%}, "
              f"kind and place both right {before['kind_and_place_right']:.1%}\n")
    if cv:
        print_cross_validation(cv)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "model": args.model.name,
        "sets": [{"file": r["file"], "in_training_data": r["in_training_data"],
                  **{key: {k: v for k, v in r[key].items() if k != "errors"}
                     for key in ("all", "unseen_only", "before_safety_override")},
                  "errors": r["all"]["errors"]} for r in results],
        "cross_validation": cv}, indent=2))
    print(f"figures written to {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    # The targets hold what the survivor gets: the kind the bot answers with (after the safety
    # component) and the place it searches.
    below = [f"{name} ({r['file']})" for r in results
             for name, value, floor in (("kind", r["all"]["kind_accuracy"], args.min_kind),
                                        ("place", r["all"]["place_accuracy"], args.min_place))
             if value is None or value < floor]
    if below:
        print(f"below target: {', '.join(below)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
