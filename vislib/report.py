"""The README's results tables, from the shipped metrics.json files: `python -m vislib.report`.

`python -m vislib.report --export VARIANT [--photo PATH] [--out FILE]` writes the one-page client
report instead (vislib.client_report).
"""

from __future__ import annotations

import sys

from vislib import zoo

COLUMNS = ("CMU train", "CMU test", "CMU new people", "three amigos (face framed)",
           "“left” recall (face framed)", "three amigos (detected face)", "three amigos (whole frame)")
HEADER = ("| variant | what changed | trained on | parameters | " + " | ".join(COLUMNS) + " |\n"
          "|---|---|---|---:|" + "---:|" * len(COLUMNS))


def trained_on(name: str) -> str:
    """A variant's training data, short: "CMU + Pointing'04 (7 people)"."""
    spec = zoo.variant(name)
    people = zoo.pointing04_people(spec)
    return " + ".join({"cmu": "CMU", "pointing04_train": f"Pointing'04 ({people} people)"}.get(d, d)
                      for d in spec.training_data)


def results_rows() -> list[dict]:
    """One row per shipped variant: what changed, its size, then its accuracies (fractions;
    None where a figure was not measured)."""
    rows = []
    for name in zoo.shipped_variants():
        m = zoo.read_json(name, "metrics.json")
        a = m["accuracy"]

        def get(key, field="overall"):
            return a.get(key, {}).get(field)

        rows.append({"variant": name, "what changed": m["title"], "parameters": m["params"],
                     "CMU train": a["train"], "CMU test": a["test"],
                     "CMU new people": get("cmu_new_people"),
                     "three amigos (face framed)": a["three_amigos"]["overall"],
                     "“left” recall (face framed)": get("three_amigos", "left_recall"),
                     "three amigos (detected face)": get("three_amigos_detected"),
                     "three amigos (whole frame)": a["three_amigos_full_frame"]["overall"]})
    return rows


def originals_in_words() -> str | None:
    """What the original study's shipped networks score, in one markdown-free sentence computed from
    their metrics: CMU test faces against the three amigos' faces looking left. None without them."""
    names = [n for n in zoo.shipped_variants() if n in zoo.ORIGINALS]
    if not names:
        return None
    scores = [zoo.read_json(n, "metrics.json")["accuracy"] for n in names]
    low, high = min(a["test"] for a in scores), max(a["test"] for a in scores)
    found = max(a["three_amigos"].get("left_recall") or 0.0 for a in scores)
    count = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven"}.get(len(names), len(names))
    tests = f"{high:.0%}" if f"{low:.0%}" == f"{high:.0%}" else f"{low:.0%} to {high:.0%}"
    return (f"The original study's {count} network{'s' if len(names) > 1 else ''} score {tests} on CMU test faces, "
            f"yet find {'none' if f'{found:.0%}' == '0%' else f'at most {found:.0%}'} of the faces looking left "
            f"in another studio's photos (the three amigos)")


def cmu_test_label(metrics: dict) -> tuple[str, str]:
    """(label, what it measures) of a variant's "test" figure: the same people as in training (the
    original study's split by image) or people held out (Experiment 2's split by person)."""
    split = metrics.get("split", {})
    if split.get("by") == "person":
        n = len(split.get("test_people", []))
        return f"CMU, {n} held-out people", f"the CMU faces of {n} people held out of this network's training"
    return "CMU test, same people", "new photos of the 20 people it was trained on"


def cmu_test_recall(metrics: dict) -> float | None:
    """The share of CMU test faces looking left that the network calls left (from its confusion
    matrix: rows true, columns predicted), or None without a "left" class or such faces."""
    classes, matrix = metrics.get("classes", []), metrics.get("confusion", {}).get("test")
    if "left" not in classes or not matrix:
        return None
    left = classes.index("left")
    faces = sum(matrix[left])
    return matrix[left][left] / faces if faces else None


def constant_answer_warning(variant: str, metrics: dict) -> str | None:
    """Markdown-free sentence when a network finds under 20% of the three amigos' left faces, saying
    where its accuracy comes from; None otherwise."""
    amigos = metrics.get("accuracy", {}).get("three_amigos", {})
    recall = amigos.get("left_recall") if isinstance(amigos, dict) else None
    if recall is None or recall >= 0.2:
        return None
    found = f"{variant} finds {recall:.0%} of the three amigos looking left"
    if metrics.get("task", "binary") == "binary":
        return (f"{found}: its {amigos.get('overall', 0):.0%} comes from answering “not left”, which is right for "
                f"the other poses (always answering “not left” scores 67%).")
    return f"{found}, and names the right pose for {amigos.get('overall', 0):.0%} of them (of four poses)."


def _pct(value) -> str:
    return "–" if value is None else f"{value:.1%}"


def results_table() -> str:
    lines = [HEADER]
    for r in results_rows():
        lines.append(f"| {r['variant']} | {r['what changed']} | {trained_on(r['variant'])} | {r['parameters']:,} | "
                     + " | ".join(_pct(r[c]) for c in COLUMNS) + " |")
    return "\n".join(lines)


def per_person_table() -> str:
    rows = ["| variant | person01 | person03 | person08 |", "|---|---:|---:|---:|"]
    for name in zoo.shipped_variants():
        per = zoo.read_json(name, "metrics.json")["accuracy"]["three_amigos"]["per_person"]
        rows.append(f"| {name} | " + " | ".join(f"{per[p]:.1%}" for p in sorted(per)) + " |")
    return "\n".join(rows)


def samples_table() -> str:
    """Each variant's decision on the sample photos (a third source: a NASA portrait)."""
    names = zoo.shipped_variants()
    files = sorted({f for n in names for f in zoo.read_json(n, "metrics.json").get("samples", {})})
    rows = ["| variant | " + " | ".join(files) + " |", "|---|" + "---|" * len(files)]
    for name in names:
        samples = zoo.read_json(name, "metrics.json").get("samples", {})
        rows.append(f"| {name} | " + " | ".join(samples.get(f, {}).get("predicted", "–") for f in files) + " |")
    return "\n".join(rows)


def seeds_table() -> str:
    """The seed runs recorded in metrics.json (`seed_runs`), for the variants that have them."""
    rows = ["| variant | seed | three amigos (face framed) | “left” recall | “not left” recall "
            "| three amigos (detected face) | CMU held-out people |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name in zoo.shipped_variants():
        for run in zoo.read_json(name, "metrics.json").get("seed_runs", []):
            rows.append(f"| {name} | {run['seed']} | {_pct(run['amigos'])} | {_pct(run['left_recall'])} | "
                        f"{_pct(run['not_left_recall'])} | {_pct(run['amigos_detected'])} | "
                        f"{_pct(run['cmu_validation'])} |")
    return "\n".join(rows)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--export"]:
        from vislib import client_report

        sys.exit(client_report.main(sys.argv[2:]))
    print(results_table())
    print()
    print(per_person_table())
    print()
    print(samples_table())
    print()
    print(seeds_table())
