"""End to end in a real browser: `streamlit run` serves the app, headless Chromium uses it.

AppTest does not run the browser: a selectbox whose option labels changed with the decision
crashed in Chromium and passed under AppTest. Each page's main path is walked here as a person
would, asserting no exception box on the page and no traceback in the server log; screenshots
land in artifacts/ (kept by CI).
"""

import time

import numpy as np
import pytest
from PIL import Image

import shell
from vislib import browser, data, plots, settings, zoo

PHOTO = "Your_photo"


@pytest.fixture(scope="module")
def server():
    with browser.serve() as (url, log):
        yield url, log
        text = log.read_text()
        assert "Traceback" not in text, text[-3000:]
        assert "st.navigation" not in text and "pages/" not in text, "no multipage warning in the log"


@pytest.fixture(scope="module")
def page(server):
    driver = browser.chromium()
    try:
        yield browser.Page(driver, server[0])
    finally:
        driver.quit()


def assert_clean(page: browser.Page):
    assert not page.problems(), page.problems()


def assert_not_blank(shot, width: int = 1000):
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert pixels.shape[1] >= width and pixels.std() > 10, "the screenshot is blank"


def test_overview_renders_its_tabs_and_follows_a_variant_switch(page):
    page.open()
    page.wait_for('[data-testid="stMetric"]')
    page.wait_for(".js-plotly-plot")
    assert "HappyMaps" in page.title()
    assert_clean(page)
    assert_not_blank(page.screenshot("overview"))
    for tab in ("Architecture", "Training curves", "Confusion matrices", "All variants"):
        page.click_tab(tab)
        assert_clean(page)
    time.sleep(1)  # the table draws its columns
    assert page.find('[data-testid="stDataFrame"] .dvn-scroller'), "the check below would see no table"
    assert not page.scrolling_tables(), page.scrolling_tables()  # every figure in view, at 1400 px
    page.select("Network variant", "ex1-4 · Four pose classes")
    assert "ex1-4" in page.text()
    assert_clean(page)
    page.select("Network variant", "exp0 · Baseline")


def test_on_a_projector_sized_window_no_figure_or_button_is_cut_short(server):
    """1024 x 800, as in a meeting room: five figures in a row, a preset button beside its hint and a
    six-column table were cut short or had to be scrolled sideways."""
    driver = browser.chromium(1024, 800)
    try:
        narrow = browser.Page(driver, server[0])
        narrow.open("?variant=exp0")
        narrow.wait_for('[data-testid="stMetric"]')
        narrow.wait_idle()
        assert len(narrow.find('[data-testid="stMetric"]')) == 5
        assert not narrow.cut_texts(), narrow.cut_texts()
        narrow.open("HappyMaps?variant=ex2-3")
        narrow.wait_text("Use the smoothed preset")
        narrow.wait_idle()
        assert not narrow.cut_texts(), narrow.cut_texts()
        narrow.open("Why_it_fails?variant=exp0")
        narrow.wait_text("Methods that pass both checks here", timeout=300)
        time.sleep(1)  # the table draws its columns
        assert narrow.find('[data-testid="stDataFrame"] .dvn-scroller'), "the check below would see no table"
        assert not narrow.scrolling_tables(), narrow.scrolling_tables()
        assert_clean(narrow)
        assert_not_blank(narrow.screenshot("why-it-fails-1024"))
        # a set named in more words than the other wrapped to two lines, and its pictures started 33 px lower
        narrow.open("Why_it_fails?variant=ex2-4")
        narrow.wait_text("Background brightness", timeout=300)
        narrow.wait_idle()
        tops = driver.execute_script("""return Array.from(document.querySelectorAll('[data-testid="stColumn"]'))
            .filter(column => column.querySelector('h3') && column.querySelector('[data-testid="stImage"] img'))
            .slice(0, 2).map(column => Math.round(column.querySelector('[data-testid="stImage"] img')
            .getBoundingClientRect().top));""")
        assert len(tops) == 2 and abs(tops[0] - tops[1]) <= 2, f"the two sets' pictures start at {tops} px"
    finally:
        driver.quit()


def test_a_screen_reader_has_words_for_every_picture_of_happymaps_and_your_photo(page):
    """Pictures drawn with their captions apart had no text for a screen reader."""
    page.open("HappyMaps?variant=exp0")
    page.wait_for('[data-testid="stImage"] img')
    page.wait_idle()
    alts = [img.get_attribute("alt") for img in page.find('[data-testid="stImage"] img')]
    assert alts and "HappyMaps of exp0's dense_3: 0 · not left, 1 · left" in alts, alts
    page.open(PHOTO)
    page.click_tab("Pick a sample")
    page.select("Sample", "Sample: astronaut")
    alts = [img.get_attribute("alt") for img in page.find('[data-testid="stImage"] img')]
    assert "What the network sees (64 × 60 pixels)" in alts, alts
    assert all(a and a != "0" for a in alts), alts


def test_on_a_phone_the_pages_are_linked_under_the_title_and_a_swipe_over_a_chart_scrolls(server, page):
    """390 x 844, touch: the sidebar is a drawer behind an unlabelled icon, and its links left it open over
    the new page; a swipe that began on a chart zoomed the chart instead of scrolling the page."""
    driver = browser.phone()
    try:
        phone = browser.Page(driver, server[0])
        phone.open("?variant=exp0")
        phone.wait_for(".js-plotly-plot")
        phone.wait_idle()
        chart = phone.find(".js-plotly-plot")[0]
        shown = lambda: driver.execute_script("return JSON.stringify(arguments[0].layout.yaxis.range)", chart)  # noqa: E731
        before = shown()
        assert phone.swipe_up(chart) > 50, "the page scrolls"
        assert shown() == before, "the chart did not zoom"
        links = [a for a in phone.find(".st-key-phone_links a") if a.is_displayed()]
        assert [a.text.splitlines()[-1] for a in links] == [label for _, label, _ in shell.PAGES]
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", links[2])
        links[2].click()
        time.sleep(0.3)
        phone.wait_text("Upload a photo or pick a sample to begin")
        assert phone.title() == "Your photo"
        sidebar = phone.find('[data-testid="stSidebar"]')
        assert not sidebar or sidebar[0].get_attribute("aria-expanded") != "true", "nothing covers the page"
        assert_clean(phone)
        assert_not_blank(phone.screenshot("your-photo-phone"), width=390)
        phone.open("Watch_it_learn?variant=exp0")  # a phone's browser says so: the timelapse's stacked layout
        phone.wait_for(".js-plotly-plot")
        phone.wait_idle()
        assert driver.execute_script("return arguments[0]._fullLayout.height", phone.find(".js-plotly-plot")[0]) == 1400
        assert_clean(phone)
    finally:
        driver.quit()
    page.open("?variant=exp0")  # on a wide screen, the sidebar's links alone
    page.wait_for('[data-testid="stMetric"]')
    assert page.find(".st-key-phone_links a") and not any(a.is_displayed() for a in page.find(".st-key-phone_links a"))


def test_a_visitor_whose_system_prefers_dark_gets_the_light_pages(page):
    """The pictures are gray on white sheets with dark labels: on Streamlit's dark theme they glared."""
    dark = [{"name": "prefers-color-scheme", "value": "dark"}]
    page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": dark})
    try:
        assert page.driver.execute_script("return matchMedia('(prefers-color-scheme: dark)').matches")
        page.open("?variant=exp0")
        page.wait_for('[data-testid="stMetric"]')
        background = page.driver.execute_script(
            "return getComputedStyle(document.querySelector('[data-testid=\"stApp\"]')).backgroundColor")
        red, green, blue = (int(v) for v in background[background.index("(") + 1:].rstrip(")").split(",")[:3])
        assert min(red, green, blue) > 200, background
    finally:
        page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def test_captions_read_at_wcag_contrast(page):
    """Streamlit draws captions at 60% of the text colour: 3.9:1 on white with its own, under WCAG's 4.5:1."""
    page.open("?variant=exp0")
    page.wait_for('[data-testid="stCaptionContainer"]')
    colours = page.driver.execute_script(
        "return [...document.querySelectorAll('[data-testid=stCaptionContainer]')].map("
        "e => [getComputedStyle(e).color, getComputedStyle(e).opacity])")
    assert colours
    for colour, opacity in {tuple(c) for c in colours}:
        values = [float(v) for v in colour[colour.index("(") + 1:].rstrip(")").split(",")]
        alpha = (values[3] if len(values) == 4 else 1.0) * float(opacity)
        seen = "#" + "".join(f"{round(alpha * v + (1 - alpha) * 255):02x}" for v in values[:3])  # on white
        assert plots.contrast("#ffffff", seen) >= 4.5, colour


def test_samples_in_a_row_keep_the_class_choice_valid_as_the_decision_changes(page):
    """The demo path that crashed: astronaut, then a CMU face, then another with another decision."""
    page.open(PHOTO)
    page.click_tab("Pick a sample")
    for sample in ("Sample: astronaut", "CMU face: choon/choon_left_sad_open_2.pgm",
                   "CMU face: ch4f/ch4f_up_neutral_open_2.pgm"):
        page.select("Sample", sample)
        assert_clean(page)
        assert page.selected("For the class") == "its decision"
        assert "Where does the network look?" in page.text()
    page.select("For the class", "left")
    assert_clean(page)
    for method in ("Saliency", "SmoothGrad", "Grad-CAM++", "Grad-CAM"):
        page.select("Method", method)
        assert_clean(page)
    assert_not_blank(page.screenshot("photo-samples"))
    # the 64x60 input, its heat map, the unit's HappyMap: crisp, each at its own size
    assert not page.enlarged_images(), page.enlarged_images()
    page.select("Sample", "(none)")


def test_uploads_of_a_good_and_a_bad_file_show_one_answer_and_one_clear_message(page, tmp_path):
    good = tmp_path / "portrait.png"
    Image.open(settings.SAMPLES_DIR / "astronaut.jpg").save(good)
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not a picture")
    # an iPhone's photo: the uploader's own filter marked it red, without a word of why or what to do
    iphone = tmp_path / "IMG_0001.HEIC"
    iphone.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 100)
    page.open(PHOTO)
    page.upload(good, bad, iphone)
    page.wait_text("Decision")
    text = page.text()
    errors = sorted(page.problems())
    assert len(errors) == 2 and "IMG_0001.HEIC" in errors[0] and "notes.png" in errors[1], errors
    assert "HEIC photo" in errors[0] and "Most Compatible" in errors[0], errors[0]
    assert not page.find('[data-testid="stException"]')
    assert "Decision" in text
    assert_not_blank(page.screenshot("photo-upload"))


def test_a_link_that_names_a_sample_opens_on_the_samples_tab(server):
    driver = browser.chromium(1400, 900)  # a new visitor: a session of its own
    try:
        visitor = browser.Page(driver, server[0])
        visitor.open("Your_photo?sample=Sample:%20cameraman")
        visitor.wait_text("Where does the network look?", timeout=300)
        chosen = [tab.text.strip() for tab in visitor.find('[role="tab"]') if tab.get_attribute("aria-selected") == "true"]
        assert chosen == ["Pick a sample"], chosen
        assert_clean(visitor)
    finally:
        driver.quit()


def test_the_camera_snapshot_goes_through_the_same_pipeline(page):
    page.open(PHOTO)
    page.click_tab("Camera")
    camera = page.wait_for('[data-testid="stCameraInput"]')
    deadline = time.time() + 30
    while not [b for b in camera.find_elements("css selector", "button") if "Take Photo" in b.text and b.is_enabled()]:
        assert time.time() < deadline, camera.text
        time.sleep(0.2)
    [b for b in camera.find_elements("css selector", "button") if "Take Photo" in b.text][0].click()
    page.wait_idle()
    assert_clean(page)
    assert "Camera snapshot" in page.text()
    assert "Decision" in page.text()


def test_cmu_sample_names_exist_in_the_data():
    """The samples walked above are real CMU test faces (guards the test against renames)."""
    files = set(data.load_cmu().files)
    assert {"choon/choon_left_sad_open_2.pgm", "ch4f/ch4f_up_neutral_open_2.pgm"} <= files


def test_why_it_fails_shows_its_evidence_and_follows_a_method_change(page):
    page.open("Why_it_fails", timeout=300)
    page.wait_text("Can these heat maps be trusted?", timeout=300)
    assert_clean(page)
    alts = [img.get_attribute("alt") for img in page.find('[data-testid="stImage"] img')]
    assert len(alts) >= 12 and all(alts), alts  # the twelve faces of section 1 had none
    page.select("Attribution method", "Saliency")
    assert_clean(page)
    assert "of the heat is on the face" in page.text()
    assert not page.enlarged_images(), page.enlarged_images()  # the two average pictures among them
    assert_not_blank(page.screenshot("why-it-fails"))


def test_compare_shows_its_answers_and_layers_and_follows_another_network_and_the_amigos(page):
    page.open("Compare?variant=exp0", timeout=300)
    page.wait_text("Do their units draw the same HappyMaps?", timeout=300)
    page.wait_for(".js-plotly-plot")
    assert_clean(page)
    page.select("Compare it with", zoo.variant("ex1-4").label)
    page.wait_text("exp0 and ex1-4", timeout=300)
    assert_clean(page)
    for radio in page.find('[data-testid="stRadio"] label'):  # the layers on the three amigos' photos
        if "three amigos" in radio.text:
            radio.click()
            page.wait_text("Representation similarity (linear CKA) on the three amigos", timeout=300)
            page.wait_idle(300)
            break
    else:
        raise AssertionError("no choice of the three amigos' photos")
    assert_clean(page)
    assert_not_blank(page.screenshot("compare"))


def test_watch_it_learn_plays_its_timelapse_and_moves_the_layers_epoch(page):
    page.open("Watch_it_learn?variant=exp0", timeout=300)
    page.wait_text("Inside the network, epoch by epoch", timeout=300)
    page.wait_for(".js-plotly-plot .updatemenu-button")
    assert_clean(page)

    def title():
        return page.find(".js-plotly-plot .gtitle")[0].text

    assert title() == "exp0: before training"
    page.find(".js-plotly-plot .updatemenu-button")[0].click()  # ▶ Play
    deadline = time.time() + 30
    while title() == "exp0: before training" and time.time() < deadline:
        time.sleep(0.2)
    assert title().startswith("exp0: epoch "), title()  # the frames play in the browser
    before = page.text()
    page.nudge_slider("Epoch", -5)  # the layers' own epoch, with the keyboard
    assert page.text() != before and "this layer's highest at epoch 20" in page.text()
    assert_clean(page)
    assert_not_blank(page.screenshot("watch-it-learn"))


def test_happymaps_layer_slider_regenerate_and_compare(page):
    page.open("HappyMaps")
    assert_clean(page)
    assert "From the precomputed atlas" in page.text()
    # two small decision tiles and their captioned "what the network adds": each at its own size
    assert len(page.find('[data-testid="stMainBlockContainer"] [data-testid="stImage"] img')) == 2
    assert not page.enlarged_images(), page.enlarged_images()
    page.select("Layer", "conv2d_1 · 16 patterns (conv)")
    assert_clean(page)
    page.nudge_slider("Blur every N steps", 4)  # the width is offered only while the picture is blurred
    before = page.slider_value("Blur width σ (pixels)")
    page.nudge_slider("Blur width σ (pixels)", 5)
    assert page.slider_value("Blur width σ (pixels)") != before
    assert "Press **Regenerate**".replace("**", "") in page.text() or "Out of date" in page.text()
    page.click_button("Regenerate", timeout=300)
    assert_clean(page)
    assert "16 units × 128 steps" in page.text()
    page.select("Compare with", zoo.variant("ex1-1").label)
    page.click_button("Regenerate", timeout=300)
    assert_clean(page)
    assert "16 units × 128 steps" in page.text() and "ex1-1 · conv2d_1" in page.text()
    assert_not_blank(page.screenshot("happymaps-compare"))
    page.select("Compare with", "(none)")
    page.select("Layer", "dense_1 · 64 units (dense)")  # ten tiles a row: wider than the column
    page.click_button("Regenerate", timeout=300)
    assert_clean(page)
    assert "What the network adds" in page.text()
    assert not page.overflowing_images(), "a montage with a caption ran off the page"
    assert not page.enlarged_images(), page.enlarged_images()


def test_two_sheets_side_by_side_start_level_when_only_one_has_a_note(page):
    # ex1-1's conv2d_3 has 16 units to exp0's 32, and says so: under its sheet, so the sheets stay level
    page.open("HappyMaps?variant=exp0&layer=conv2d_3")
    page.select("Compare with", zoo.variant("ex1-1").label)
    assert_clean(page)
    assert "has 16 units" in page.text()
    corners = sorted(page.image_corners(), key=lambda corner: corner[1])
    first = corners[0]
    second = next(corner for corner in corners if abs(corner[0] - first[0]) > 50)  # the other column's first
    assert abs(first[1] - second[1]) <= 2, f"the sheets start at {first} and {second} (left, top in px)"


def test_the_more_panel_stays_open_when_a_picker_above_it_comes_and_goes(page):
    # "All units" off brings the units picker in above the panel; unkeyed, the panel closed and hid Steps
    page.open("HappyMaps?variant=exp0&layer=dense_1")
    assert_clean(page)
    more = next(e for e in page.find('[data-testid="stExpander"]') if e.text.strip().endswith("More"))
    more.find_element("css selector", "summary").click()
    page.wait_idle()
    assert page.widget("stSlider", "Steps").is_displayed()
    page.driver.find_element("xpath", "//label[.//p[normalize-space()='All units']]").click()
    page.wait_idle()
    assert_clean(page)
    assert page.find('[data-testid="stMultiSelect"]'), "the units picker did not come in"
    assert page.widget("stSlider", "Steps").is_displayed(), "the More panel closed"


def test_the_maps_on_screen_stay_while_a_regeneration_starts(page):
    # an emptied canvas made the page jump: the sheets below it moved up for half a second
    page.open("HappyMaps?variant=exp0&layer=dense_1")
    assert_clean(page)
    images = '[data-testid="stMainBlockContainer"] [data-testid="stImage"] img'
    shown = len(page.find(images))
    page.driver.execute_script(f"""
        window.fewestImages = {shown};
        new MutationObserver(() => {{
            window.fewestImages = Math.min(window.fewestImages, document.querySelectorAll('{images}').length);
        }}).observe(document.body, {{childList: true, subtree: true}});""")
    page.click_button("Regenerate", timeout=300)
    assert_clean(page)
    assert page.driver.execute_script("return window.fewestImages;") == shown


@pytest.mark.parametrize("compare", ["(none)", "ex1-1"])
def test_the_sheets_stay_in_place_while_they_regenerate(page, compare):
    # the note above a sheet gave way to a progress bar of another height: the sheets moved by up to 60 px
    page.open("HappyMaps?variant=exp0&layer=conv2d_1")
    page.select("Compare with", "(none)" if compare == "(none)" else zoo.variant(compare).label)
    assert_clean(page)
    page.driver.execute_script("""
        const first = () => document.querySelector('[data-testid="stMainBlockContainer"] [data-testid="stImage"] img');
        const top = () => first() ? first().getBoundingClientRect().top + window.scrollY : undefined;
        window.firstTop = top(); window.farthest = 0; window.running = true;
        const watch = () => {
            const top_ = top();
            if (top_ !== undefined) window.farthest = Math.max(window.farthest, Math.abs(top_ - window.firstTop));
            if (window.running) requestAnimationFrame(watch);
        };
        watch();""")
    page.click_button("Regenerate", timeout=300)
    assert_clean(page)
    assert "16 units × 128 steps" in page.text()
    farthest = page.driver.execute_script("window.running = false; return window.farthest;")
    assert farthest <= 2, f"the first sheet moved by {farthest:.0f} px while it regenerated"


def test_the_tab_icon_is_served_by_the_app_itself(page):
    page.open("")
    icon = page.driver.execute_script("return document.querySelector('link[rel~=\"icon\"]').href")
    assert icon.startswith(page.url) and "gstatic" not in icon, icon


def test_the_sidebar_pickers_show_their_choice_whole(page):
    # a closed selectbox cuts a long option at its edge, and a client cannot tell which layer or preset is chosen
    for variant in ("exp0", "ex1-4"):  # ex1-4's decision layer has four classes
        page.open(f"HappyMaps?variant={variant}")
        assert_clean(page)
        assert not page.clipped_pickers(), page.clipped_pickers()
        for preset in ("Legible, smoothed (jitter, blur)", "Legible, steady (small steps)",
                       "Smooth spectrum (lucid's)",
                       "Yosinski row 1's regularisers"):
            page.select("Preset", preset)
            assert not page.clipped_pickers(), page.clipped_pickers()
        page.click_button("Reset settings")
    assert page.selected("Layer") == "dense_3 · decision: 4 classes"  # ex1-4's, from the link
    page.select("Layer", "conv2d_1 · 16 patterns (conv)")
    assert not page.clipped_pickers(), page.clipped_pickers()
    # and the check does see a cut option: one longer than the field, as the old preset label was
    page.driver.execute_script("""document.querySelector('[data-testid="stSelectbox"] input[role="combobox"]')
        .value = 'Legible: in the space of faces (the default), as the preset was called before';""")
    assert len(page.clipped_pickers()) == 1


def test_a_happymaps_link_reopens_its_units_without_a_warning_in_the_log(page, server):
    page.open("HappyMaps?variant=exp0&layer=dense_1&units=1,3&steps=8")
    assert_clean(page)
    assert page.selected("Layer").startswith("dense_1")
    page.open("HappyMaps?variant=exp0&layer=dense_3&units=&steps=8")  # "All units", set by the link
    assert_clean(page)
    assert "set via the Session State API" not in server[1].read_text(), "a widget got a default and a link's value"


@pytest.mark.parametrize("variant, reason, button, preset", [
    ("ex2-3", "blind to slow light and shadow", "Use the smoothed preset", "Legible, smoothed"),  # local contrast
    ("ex2-4", "how far each head is turned", "Use the steady preset", "Legible, steady")])  # a pan output
def test_a_network_is_offered_the_preset_that_draws_it_best_in_one_click(page, variant, reason, button, preset):
    page.open(f"HappyMaps?variant={variant}")
    assert_clean(page)
    assert reason in page.text() and "From the precomputed atlas" in page.text()
    assert_not_blank(page.screenshot(f"happymaps-{variant}-hint"))
    page.click_button(button, timeout=300)  # the preset, and the maps drawn with it
    assert_clean(page)
    assert page.selected("Preset").startswith(preset)
    assert "2 units × 128 steps" in page.text() and "Out of date" not in page.text()
    assert_not_blank(page.screenshot(f"happymaps-{variant}-{preset.split()[-1]}"))
    page.click_button("Reset settings")
    assert page.selected("Preset").startswith("Legible: faces")


def test_a_closed_tabs_session_is_shut_down_once_it_can_no_longer_reconnect(tmp_path):
    # Streamlit alone forgets such a session without shutting it down, keeping its uploads in memory
    photo = tmp_path / "portrait.png"
    Image.open(settings.SAMPLES_DIR / "astronaut.jpg").save(photo)
    with browser.serve(env={"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "2"}) as (url, log):
        driver = browser.chromium()
        try:
            page = browser.Page(driver, url)
            page.open(PHOTO)
            page.upload(photo)
            page.wait_text("Decision")
        finally:
            driver.quit()
        deadline = time.time() + 30
        while "shut down 1 session(s) closed more than 2 s ago" not in log.read_text() and time.time() < deadline:
            time.sleep(0.5)
        text = log.read_text()
    assert "HappyMaps: shut down 1 session(s) closed more than 2 s ago" in text, text[-2000:]
    assert "Traceback" not in text, text[-3000:]


MALLOC_PROBE = """
import ctypes, numpy as np
import shell

class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                               "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
assert shell.keep_large_blocks_out_of_the_heap.__wrapped__(1 << 20) is True
for _ in range(3):  # by default, freeing these raises glibc's own threshold past 4 MB (the next block: heap)
    block = np.ones(8 << 20, np.uint8); del block
mapped = libc.mallinfo2().hblkhd
block = np.ones(4 << 20, np.uint8)
print(libc.mallinfo2().hblkhd - mapped >= 4 << 20)
"""


def test_the_server_serves_large_blocks_from_their_own_mappings():
    """A photo's decoded pixels must not fragment the server's heap (see shell.keep_large_blocks_out_of_the_heap)."""
    import subprocess
    import sys

    from vislib import settings

    done = subprocess.run([sys.executable, "-c", MALLOC_PROBE], cwd=settings.REPO_ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True", done.stdout
