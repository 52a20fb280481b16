"""Emergency detection, measured: recall, false alarms and the first number named (988 vs 911).

    python -m benchmarks.safety.evaluate                 # held-out set, detector as deployed
    python -m benchmarks.safety.evaluate --cv            # + leave-one-author-out over safety_data/
    python -m benchmarks.safety.evaluate --pipeline      # + through the trained Rasa NLU model
    python -m benchmarks.safety.evaluate -v              # list every miss and false alarm

The held-out files (tests/safety/heldout_messages*.yml, one table each) were each written by
someone who saw neither the lexicon, the training data nor the other files; they are never
trained or tuned on. `make eval` runs this.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional

from infra.config import ROOT

HELDOUT_FILES = sorted((ROOT / "tests" / "safety").glob("heldout_messages*.yml"))
# Conversation messages held out by the NLU evaluation (benchmarks/nlu): requests, places, "more",
# "skip"... none may read as an emergency unless labelled `emergency` there.
CONVERSATION_HELDOUT = sorted((ROOT / "benchmarks" / "nlu").glob("heldout*.yml"))


@dataclass
class Score:
    name: str
    emergencies: int = 0
    caught: int = 0
    ordinary: int = 0
    false_alarms: int = 0
    wrong_first_number: int = 0
    by_category: dict = field(default_factory=dict)
    misses: List[str] = field(default_factory=list)
    alarms: List[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def recall(self) -> float:
        return self.caught / max(self.emergencies, 1)

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / max(self.ordinary, 1)

    def row(self) -> str:
        cats = ", ".join(f"{c} {hit}/{n}" for c, (hit, n) in sorted(self.by_category.items()))
        per_msg = self.seconds / max(self.emergencies + self.ordinary, 1) * 1000
        return (f"| {self.name} | {self.recall:.3f} ({self.caught}/{self.emergencies}) | "
                f"{self.false_alarm_rate:.3f} ({self.false_alarms}/{self.ordinary}) | "
                f"{self.wrong_first_number} | {cats} | {per_msg:.1f} |")


HEADER = ("| detector | recall | false alarms | 988/911 wrong | recall by category | ms/msg |\n"
          "|---|---|---|---|---|---|")


def score(name: str, messages, judge: Callable[[str], Optional[str]]) -> Score:
    """`judge(text)` -> category of the emergency it sees, or None."""
    result = Score(name)
    started = time.perf_counter()
    for message in messages:
        seen = judge(message.text)
        if message.category:
            result.emergencies += 1
            hit, n = result.by_category.get(message.category, (0, 0))
            result.by_category[message.category] = (hit + bool(seen), n + 1)
            if seen:
                result.caught += 1
                if (seen == "self_harm") != (message.category == "self_harm"):
                    result.wrong_first_number += 1
            else:
                result.misses.append(f"[{message.category}] {message.text}")
        else:
            result.ordinary += 1
            if seen:
                result.false_alarms += 1
                result.alarms.append(f"[{seen}] {message.text}")
    result.seconds = time.perf_counter() - started
    return result


def conversation_messages():
    """The NLU held-out messages as labelled messages (emergency intent -> danger)."""
    import yaml

    from bot.components.safety_model import LabelledMessage

    messages = []
    for path in CONVERSATION_HELDOUT:
        if path.exists():
            for item in (yaml.safe_load(path.read_text()) or {}).get("messages") or []:
                messages.append(LabelledMessage(item["text"], "danger" if item.get("intent") == "emergency" else None))
    return messages


def deployed_judges():
    from bot.components.safety import assess, detect

    def lexicon(text):
        signal = detect(text, model=None)
        return signal.category if signal else None

    def combined(text):
        signal = detect(text)
        return signal.category if signal else None

    def numbers_named(text):
        result = assess(text)
        return result.signal.category if result.signal else result.check

    return [("lexicon only", lexicon), ("lexicon + classifier (deployed): emergency answer and handoff", combined),
            ("911 / 988 named: the emergency answer, or the safety check line (no handoff)", numbers_named)]


def pipeline_judge(model_path: Path):
    """The whole NLU pipeline of the trained Rasa model: intent `emergency` or not."""
    from rasa.core.agent import load_agent

    agent = asyncio.run(load_agent(str(model_path)))

    def judge(text):
        parsed = asyncio.run(agent.parse_message(text))
        if (parsed.get("intent") or {}).get("name") != "emergency":
            return None
        kinds = [e["value"] for e in parsed.get("entities", []) if e.get("entity") == "danger_type"]
        return kinds[0] if kinds else "danger"

    return judge


def cross_validate(points: Optional[list] = None):
    """Leave one author's file out: train the classifier on the others and the NLU conversation
    examples (as `safety_model.build` does), test on it. Every message is featurised once. When
    `points` is a list, it receives (is an emergency, the lexicon fired, the classifier's
    probability) for every message, for `threshold_sweep`."""
    from bot.components import safety_model
    from bot.components.safety import classifier_text, lexicon_signal, normalise_text

    files = safety_model.training_files()
    by_file = {path: safety_model.read_labelled([path]) for path in files}
    conversation = safety_model.conversation_examples()
    every = [m for path in files for m in by_file[path]] + conversation
    featurised = safety_model.featurise([classifier_text(m.text) for m in every], [m.text for m in every])
    features = dict(zip(map(id, every), featurised))
    rows = []
    for held in files:
        others = [m for path in files if path != held for m in by_file[path]] + conversation
        model = safety_model.train_on([features[id(m)] for m in others], others)
        messages = by_file[held]
        started = time.perf_counter()
        probabilities = model.detector.probabilities([features[id(m)] for m in messages])
        verdicts = {}  # text -> category seen, or None (what `score` asks its judge)
        for message, probability in zip(messages, probabilities):
            signal = lexicon_signal(normalise_text(message.text))
            if points is not None:
                points.append((bool(message.category), signal is not None, float(probability)))
            if signal:
                verdicts[message.text] = signal.category
            elif probability >= safety_model.DEFAULT_THRESHOLD:
                verdicts[message.text] = model.category(features[id(message)])
            else:
                verdicts[message.text] = None
        elapsed = time.perf_counter() - started
        result = score(f"held out: {held.name}", messages, verdicts.get)
        result.seconds = elapsed  # the lexicon and the trained models, without the sentence encoder
        rows.append(result)
    return rows


def threshold_sweep(points: list, thresholds=(0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)) -> List[str]:
    """Pooled leave-one-author-out recall and false alarms of lexicon + classifier at each
    threshold: how the deployed threshold is chosen without looking at the held-out set."""
    emergencies = sum(1 for is_emergency, _, _ in points if is_emergency) or 1
    ordinary = sum(1 for is_emergency, _, _ in points if not is_emergency) or 1
    lines = ["| threshold | recall | false alarms |", "|---|---|---|"]
    for threshold in thresholds:
        fired = [(e, lexicon or p >= threshold) for e, lexicon, p in points]
        caught = sum(1 for e, hit in fired if e and hit)
        alarms = sum(1 for e, hit in fired if not e and hit)
        lines.append(f"| {threshold:.2f} | {caught / emergencies:.3f} | {alarms / ordinary:.3f} |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heldout", type=Path, action="append",
                        help="a held-out file (repeatable; default: every tests/safety/heldout_messages*.yml)")
    parser.add_argument("--cv", action="store_true", help="leave-one-author-out over safety_data/ (about five minutes)")
    parser.add_argument("--pipeline", action="store_true", help="also through the trained Rasa model")
    parser.add_argument("-v", "--verbose", action="store_true", help="list misses and false alarms")
    args = parser.parse_args(argv)

    from bot.components.safety_model import read_labelled

    results = []
    judges = deployed_judges()
    if args.pipeline:
        from navigator.setup import model_path

        judges.append(("Rasa NLU pipeline (intent emergency)", pipeline_judge(model_path())))
    for path in args.heldout if args.heldout is not None else HELDOUT_FILES:
        if not path.exists():
            print(f"no held-out set at {path}", file=sys.stderr)
            continue
        messages = read_labelled([path])
        shown = path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
        print(f"Held-out set: {shown} "
              f"({sum(1 for m in messages if m.category)} emergencies, "
              f"{sum(1 for m in messages if not m.category)} ordinary)\n")
        scored = [score(name, messages, judge) for name, judge in judges]
        results += scored
        print(HEADER)
        for result in scored:
            print(result.row())
        print()
    conversation = conversation_messages()
    if conversation:
        print(f"\nConversation messages of the NLU held-out sets ({len(conversation)}; "
              f"{sum(1 for m in conversation if m.category)} labelled emergency):\n")
        print(HEADER)
        for name, judge in deployed_judges():
            result = score(name, conversation, judge)
            results.append(result)
            print(result.row())
    if args.cv:
        print("\nLeave-one-author-out over the training files (lexicon + classifier):\n")
        print(HEADER)
        points: list = []
        for result in cross_validate(points):
            print(result.row())
        print("\nThe same, pooled, at other thresholds of the classifier:\n")
        print("\n".join(threshold_sweep(points)))
    if args.verbose:
        for result in results:
            print(f"\n## {result.name}: misses")
            print("\n".join(result.misses) or "(none)")
            print(f"\n## {result.name}: false alarms")
            print("\n".join(result.alarms) or "(none)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
