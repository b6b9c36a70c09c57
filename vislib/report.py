"""The README's results table, from the shipped metrics.json files: `python -m vislib.report`."""

from __future__ import annotations

from vislib import zoo

HEADER = ("| variant | what changed | parameters | CMU train | CMU test | three amigos (face framed) "
          "| three amigos (whole frame) |\n|---|---|---:|---:|---:|---:|---:|")


def results_table() -> str:
    rows = [HEADER]
    for name in zoo.shipped_variants():
        m = zoo.read_json(name, "metrics.json")
        a = m["accuracy"]
        rows.append(f"| {name} | {m['title']} | {m['params']:,} | {a['train']:.1%} | {a['test']:.1%} | "
                    f"{a['three_amigos']['overall']:.1%} | {a['three_amigos_full_frame']['overall']:.1%} |")
    return "\n".join(rows)


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
