"""The README's results table, from the shipped metrics.json files: `python -m vislib.report`."""

from __future__ import annotations

from vislib import zoo

HEADER = ("| variant | what changed | parameters | CMU train | CMU test | three amigos (face framed) "
          "| three amigos (whole frame) |\n|---|---|---:|---:|---:|---:|---:|")


def results_rows() -> list[dict]:
    """One row per shipped variant: what changed, its size, and its accuracies."""
    rows = []
    for name in zoo.shipped_variants():
        m = zoo.read_json(name, "metrics.json")
        a = m["accuracy"]
        rows.append({"variant": name, "what changed": m["title"], "parameters": m["params"],
                     "CMU train": a["train"], "CMU test": a["test"],
                     "three amigos (face framed)": a["three_amigos"]["overall"],
                     "three amigos (whole frame)": a["three_amigos_full_frame"]["overall"]})
    return rows


def results_table() -> str:
    lines = [HEADER]
    for r in results_rows():
        lines.append(f"| {r['variant']} | {r['what changed']} | {r['parameters']:,} | "
                     + " | ".join(f"{v:.1%}" for v in list(r.values())[3:]) + " |")
    return "\n".join(lines)


def per_person_table() -> str:
    rows = ["| variant | person01 | person03 | person08 |", "|---|---:|---:|---:|"]
    for name in zoo.shipped_variants():
        per = zoo.read_json(name, "metrics.json")["accuracy"]["three_amigos"]["per_person"]
        rows.append(f"| {name} | " + " | ".join(f"{per[p]:.1%}" for p in sorted(per)) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(results_table())
    print()
    print(per_person_table())
