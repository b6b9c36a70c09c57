"""The Compare page: opens from the app, compares the sidebar's network with another, and offers
the client report."""

from apppages import open_page


def open_compare_page():
    return open_page("pages/4_Compare.py")


def test_the_compare_page_shows_the_comparison_without_error():
    at = open_compare_page()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Compare two networks"
    assert [h.value for h in at.header][:3] == ["Do they give the same answers?", "Do their layers hold the same information?",
                                               "Do their units draw the same HappyMaps?"]
    labels = [m.label for m in at.metric]
    assert "Same answer, CMU test faces" in labels and "Same answer, three amigos" in labels
    a = at.sidebar.selectbox[0].value
    b = at.selectbox(key="compare_with").value
    assert b != a and b in ("exp0", "ex1-1")
    # the page's agreement figure is vislib.compare's
    from vislib import compare

    result = compare.compare(a, b)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Same answer, CMU test faces"] == f"{result.agreement[compare.CMU]['agreement']:.0%}"
    assert f"**In short**: {result.in_short()}" in [m.value for m in at.markdown], "the sections in one paragraph"
    assert any(e.proto.label.startswith("Download the report on") for e in at.get("download_button"))
    from vislib import settings  # the command beside it works as typed: this process's Python, not a bare `python`

    assert any(f"`{settings.command(f'-m vislib.client_report {a}')}`, run in" in c.value for c in at.caption)
    # "16 pairs of 16 × 16 units" read as 256 units: each network's count is said apart
    assert any(f"units in {a}, " in c.value and f" in {b})" in c.value for c in at.caption)


def test_choosing_another_network_b_and_the_amigos_reruns_cleanly():
    at = open_compare_page()
    at.selectbox(key="compare_with").set_value("ex1-4").run()
    assert not at.exception and not at.error
    at.radio(key="compare_inputs").set_value("three amigos").run()
    assert not at.exception and not at.error
    assert any("four-pose network" in c.value for c in at.caption)


def test_the_cmu_faces_are_said_to_show_people_both_networks_trained_on():
    at = open_compare_page()
    at.selectbox(key="compare_with").set_value("ex2-4").run()
    assert not at.exception and not at.error
    note = next(c.value for c in at.caption if c.value.startswith("CMU test faces: "))
    assert "ex2-4: 16 of the 20, 4 held out" in note and "says little about new people" in note
