"""``captioner review``: the page in a real browser (Debian's Chromium, driven by Playwright), the server as a
real process on 127.0.0.1, files on disk checked after every action."""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import conftest
import ocr
import reviewpage
from reviewpage import FLAGGED, REASONS, launch, make_clip, open_page, review_server

pytest.importorskip("playwright")
from playwright.sync_api import expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.skipif(not Path(reviewpage.CHROMIUM).exists(),
                                reason="Chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    # Module scope: a sync Playwright left running holds its event loop, and any later test that starts its own
    # (tests/players.py's Chromium renderer) would fail with "Sync API inside the asyncio loop".
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture(scope="session")
def clip_template(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("review-clip"))


@pytest.fixture
def clip(tmp_path, clip_template) -> Path:
    """A fresh copy of the clip and its sidecars (tests change them)."""
    for f in clip_template.parent.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / clip_template.name


def sidecar(clip: Path, ext: str) -> Path:
    return clip.with_name(f"{clip.stem}.captioned{ext}")


def read_json(clip: Path) -> dict:
    return json.loads(sidecar(clip, ".json").read_text(encoding="utf-8"))


def srt_texts(clip: Path) -> list[str]:
    from captioner.formats import load_cues

    return [c.text for c in load_cues(sidecar(clip, ".srt"))]


def box(page, n: int):
    return page.get_by_label(f"Cue {n} text", exact=True)


def test_page_shows_the_clip_its_flagged_words_and_the_caption_as_burned(browser, clip):
    with review_server(str(clip), "--ui", "en") as server:
        page = open_page(browser, server.url)
        assert page.locator("html").get_attribute("dir") == "ltr"
        rows = page.locator("li[data-cue]")
        expect(rows).to_have_count(3)
        assert [rows.nth(k).get_attribute("data-cue") for k in range(3)] == ["1", "2", "3"]
        expect(box(page, 1)).to_have_value("مرحبا بكم في رحلة الخير")
        for name in ("Save", "Burn", "Mark reviewed", "Next flagged word"):
            expect(page.get_by_role("button", name=name, exact=True)).to_be_visible()
        # The flagged words, marked with their reason, and only those.
        flagged = page.locator("button.chip.flag")
        expect(flagged).to_have_count(2)
        assert [flagged.nth(k).get_attribute("aria-label") for k in range(2)] == [
            f"{FLAGGED[0]}: {REASONS[0]}", f"{FLAGGED[1]}: {REASONS[1]}"]
        expect(page.locator("#flag-count")).to_have_text("2 flagged words")
        # The caption over the video: libass's render of cue 1, placed where the burn puts it.
        page.get_by_role("button", name="Next flagged word").click()
        expect(page.locator("#status")).to_contain_text(f"Cue 1: “{FLAGGED[0]}” — {REASONS[0]}")
        focused = page.evaluate("[document.activeElement.id, document.activeElement.selectionStart,"
                                " document.activeElement.selectionEnd]")
        assert focused == ["cue-1-text", 13, 17]
        img = page.locator("#caption")
        expect(img).to_be_visible()
        assert img.get_attribute("alt") == "مرحبا بكم في رحلة الخير"
        assert img.get_attribute("src").startswith("data:image/png;base64,")
        # Placed and scaled with the video: the same fraction of the stage as of the 1080x1920 frame.
        stage = page.locator("#stage").bounding_box()
        shot = img.bounding_box()
        png = Image.open(io.BytesIO(base64.b64decode(img.get_attribute("src").split(",", 1)[1])))
        assert abs(stage["width"] / stage["height"] - 1080 / 1920) < 0.01
        scale = stage["width"] / 1080
        assert abs(shot["width"] - png.width * scale) < 2
        assert abs(shot["height"] - png.height * scale) < 2
        assert page.errors == []


def test_preview_is_pixel_for_pixel_the_burned_caption(browser, clip, tmp_path):
    """The page's caption image over the source frame is the burned frame (within x264's loss); moved
    by a few pixels it is not, so the comparison can fail."""
    with review_server(str(clip), "--ui", "en") as server:
        page = open_page(browser, server.url)
        box(page, 2).focus()
        img = page.locator("#caption")
        expect(img).to_have_attribute("alt", "نريد أن يصل صوتنا")
        src = img.get_attribute("src")
        shot = page.evaluate("(() => { const s = document.getElementById('caption').style;"
                             " return [s.left, s.top, s.width]; })()")
        page.get_by_role("button", name="Burn", exact=True).click()
        expect(page.locator("#burn-status")).to_contain_text("Burned into", timeout=120_000)
    png = np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGBA"), dtype=np.float32)
    x = round(float(shot[0].rstrip("%")) / 100 * 1080)
    y = round(float(shot[1].rstrip("%")) / 100 * 1920)
    h, w = png.shape[:2]
    assert abs(float(shot[2].rstrip("%")) / 100 * 1080 - w) < 0.5
    at = 3.0  # cue 2
    source, burned = (np.asarray(f, dtype=np.float32) for f in ocr.extract_frames(clip, [at]) + ocr.extract_frames(
        clip.with_name("clip.captioned.mp4"), [at]))

    def error(dx: int, dy: int) -> float:
        alpha = png[..., 3:4] / 255
        region = source[y + dy:y + dy + h, x + dx:x + dx + w]
        expected = png[..., :3] * alpha + region * (1 - alpha)
        mask = alpha[..., 0] > 0
        return float(np.abs(expected - burned[y + dy:y + dy + h, x + dx:x + dx + w])[mask].mean())

    exact, moved = error(0, 0), min(error(4, 0), error(0, 4))
    conftest.MEASUREMENTS.append(f"review preview vs burned frame: mean error {exact:.2f}/255 (moved 4 px: {moved:.2f})")
    assert exact < 6, exact
    assert moved > 2 * exact + 4, (exact, moved)


def test_arabic_correction_is_saved_and_burned(browser, clip):
    """Type an Arabic correction over a flagged word (with '!' typed at the end and '?' the ASCII way),
    save: the four sidecars change on disk; burn: a frame of the output reads back the correction."""
    ocr.require_tesseract()
    before = {ext: sidecar(clip, ext).read_bytes() for ext in (".srt", ".vtt", ".ass", ".json")}
    with review_server(str(clip), "--ui", "en") as server:
        page = open_page(browser, server.url)
        page.keyboard.press("Alt+KeyN")  # selects «رحلة» in cue 1
        page.keyboard.type("حملة")
        page.keyboard.press("End")
        page.keyboard.type("!")
        expect(box(page, 1)).to_have_value("مرحبا بكم في حملة الخير!")
        # Pasted from an editor that works in visual order: the "?" lands at the logical end.
        box(page, 3).fill("")
        box(page, 3).focus()
        page.keyboard.insert_text("?هل وصل الجميع")
        box(page, 1).focus()  # leaving cue 3 normalises it as burn does
        expect(box(page, 3)).to_have_value("هل وصل الجميع؟")
        expect(page.locator("#status")).to_contain_text("Unsaved changes")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#status")).to_contain_text("Saved (revision 1).", timeout=90_000)
        expect(page.locator("button.chip.flag")).to_have_count(1)  # «يصل» is still to check
        assert srt_texts(clip) == ["مرحبا بكم في حملة الخير!", "نريد أن يصل صوتنا", "هل وصل الجميع؟"]
        for ext, data in before.items():
            assert sidecar(clip, ext).read_bytes() != data, ext
        doc = read_json(clip)
        assert doc["revision"] == 1 and doc["reviewed"] is False
        words = {w["text"]: w for w in doc["words"]}
        assert "رحلة" not in words and words["الخير!"]["probability"] == 0.7  # kept word keeps its timing/probability
        assert words["حملة"]["probability"] == 1.0 and 0.2 <= words["حملة"]["start"] < words["حملة"]["end"] <= 2.0
        assert words["حملة"]["review"] is False and words["يصل"]["review"] is True  # typed: checked by a person
        assert words["يصل"]["why"] == ["low-probability"]
        assert "إلى" not in words and words["الجميع؟"]["start"] >= 4.14
        assert "حملة الخير!" in sidecar(clip, ".ass").read_text(encoding="utf-8")
        assert not list(clip.parent.glob(".*part*"))
        # Burn, with a progress bar, and the result shown.
        page.get_by_role("button", name="Burn", exact=True).click()
        expect(page.locator("#burn-status")).to_contain_text("Burned into", timeout=120_000)
        expect(page.locator("#result")).to_be_visible()
        assert page.evaluate("document.getElementById('result').src").startswith(f"{server.base}/media/0/output")
    output = clip.with_name("clip.captioned.mp4")
    assert output.is_file() and not list(clip.parent.glob(".*part*"))
    from captioner.cues import Cue
    from captioner.render.layout import layout_cue

    style = reviewpage.CaptionStyle.for_frame(reviewpage.get_preset("tiktok"), 1080, 1920)
    line = "مرحبا بكم في حملة الخير!"
    (lb,) = layout_cue(Cue(0.2, 2.0, (line,)), style)
    (frame,) = ocr.extract_frames(output, [1.0])
    reading = ocr.read_line(frame, line, lb.box)
    conftest.MEASUREMENTS.append(f"review: burned correction read back: {reading}")
    assert reading.cer <= 0.15, reading
    assert ocr.cer("مرحبا بكم في رحلة الخير!", reading.reading) > reading.cer, reading
    assert reading.punctuation_ok, reading


def test_split_merge_nudge_undo_delete_and_add(browser, clip):
    from captioner.formats import load_cues

    with review_server(str(clip), "--ui", "en") as server:
        page = open_page(browser, server.url)
        rows = page.locator("li[data-cue]")
        # Split cue 2 after its second word (Ctrl+Enter at the cursor): at the third word's start.
        box(page, 2).focus()
        box(page, 2).evaluate("(e) => e.setSelectionRange(8, 8)")  # after «نريد أن »
        page.keyboard.press("Control+Enter")
        expect(rows).to_have_count(4)
        expect(box(page, 2)).to_have_value("نريد أن")
        expect(box(page, 3)).to_have_value("يصل صوتنا")
        expect(rows.nth(2).locator(".times")).to_have_text("00:03.07 to 00:04.07")
        expect(rows.nth(1).locator(".times")).to_have_text("00:02.07 to 00:03.00")  # 2 frames before
        # Nudge: cue 1's start later twice, its end earlier once.
        page.get_by_role("button", name="Start later, cue 1").click()
        page.get_by_role("button", name="Start later, cue 1").click()
        page.get_by_role("button", name="End earlier, cue 1").click()
        expect(rows.nth(0).locator(".times")).to_have_text("00:00.40 to 00:01.90")
        # Merge cue 3 with cue 4 (the split-off half with the last cue).
        page.get_by_role("button", name="Merge with next: cue 3 and cue 4").click()
        expect(rows).to_have_count(3)
        expect(box(page, 3)).to_have_value("يصل صوتنا\nإلى الجميع")
        # Undo the merge, redo it.
        page.keyboard.press("Control+KeyZ")
        expect(rows).to_have_count(4)
        page.keyboard.press("Control+Shift+KeyZ")
        expect(rows).to_have_count(3)
        page.keyboard.press("Control+KeyS")
        expect(page.locator("#status")).to_contain_text("Saved (revision 1).", timeout=90_000)
        cues = load_cues(sidecar(clip, ".srt"))
        assert [(round(c.start, 2), round(c.end, 2), c.lines) for c in cues] == [
            (0.4, 1.9, ("مرحبا بكم في رحلة الخير",)),
            (2.07, 3.0, ("نريد أن",)),
            (3.07, 5.8, ("يصل صوتنا", "إلى الجميع")),
        ]
        words = read_json(clip)["words"]
        assert [w["text"] for w in words] == ["مرحبا", "بكم", "في", "رحلة", "الخير", "نريد", "أن", "يصل", "صوتنا",
                                              "إلى", "الجميع"]
        assert words[7]["probability"] == 0.22 and words[7]["review"] is True  # the split kept every word and flag
        # A cue emptied is removed on save; a cue added where speech was missed (at the video's time).
        box(page, 1).fill("")
        expect(page.locator('li[data-cue="1"] .empty-note')).to_be_visible()
        page.keyboard.press("Control+KeyS")
        expect(rows).to_have_count(2)
        page.evaluate("document.getElementById('video').currentTime = 0.5")
        page.wait_for_function("Math.abs(document.getElementById('video').currentTime - 0.5) < 0.01")
        page.get_by_role("button", name="Add cue").click()
        expect(rows).to_have_count(3)
        expect(box(page, 1)).to_be_focused()
        expect(rows.nth(0).locator(".times")).to_have_text("00:00.50 to 00:02.00")  # up to 2 frames before cue 2
        page.keyboard.type("مرحبا بكم")
        page.keyboard.press("Control+KeyS")
        expect(page.locator("#status")).to_contain_text("Saved (revision 3).", timeout=90_000)
    assert srt_texts(clip) == ["مرحبا بكم", "نريد أن", "يصل صوتنا إلى الجميع"]
    assert [w["text"] for w in read_json(clip)["words"]][:3] == ["مرحبا", "بكم", "نريد"]


def test_rule_problems_follow_the_text_and_play_from_a_cue(browser, clip):
    with review_server(str(clip), "--ui", "en") as server:
        page = open_page(browser, server.url)
        problems = page.locator('li[data-cue="3"] .problems li')
        expect(problems).to_have_count(0)
        box(page, 3).fill("هذا سطر طويل جدا لا يتسع في شريط الترجمة مهما حاولنا أن نكتبه")
        expect(problems.filter(has_text="line too wide")).to_have_count(1)
        expect(problems.filter(has_text="reading speed")).to_have_count(1)
        # The caption over the video is what burn will draw: too much text for 1.7 s, its re-flow cuts the cue in
        # two over its time, and the page says so; the caption shown is the first part.
        box(page, 3).focus()
        expect(page.locator("#preview-note")).to_contain_text("split into 2 cues")
        img = page.locator("#caption")
        expect(img).not_to_have_attribute("alt", "هذا سطر طويل جدا لا يتسع في شريط الترجمة مهما حاولنا أن نكتبه")
        assert "هذا سطر طويل جدا لا يتسع في شريط الترجمة مهما حاولنا أن نكتبه".startswith(img.get_attribute("alt"))
        box(page, 3).fill("إلى الجميع")
        expect(problems).to_have_count(0)
        expect(img).to_have_attribute("alt", "إلى الجميع")
        expect(page.locator("#preview-note")).to_have_text("")
        # Play from cue 2: the video plays from the cue's start, and the caption shown is cue 2's.
        page.get_by_role("button", name="Play from cue 2").click()
        page.wait_for_function("!document.getElementById('video').paused")
        assert 2.07 <= page.evaluate("document.getElementById('video').currentTime") < 4.07
        expect(page.locator("#caption")).to_have_attribute("alt", "نريد أن يصل صوتنا")
        expect(page.locator('li[data-cue="2"]')).to_have_class("cue has-flag current")


def test_keyboard_only(browser, clip):
    """No mouse: every control is reachable by Tab with a visible label, and a whole review is done with keys."""
    with review_server(str(clip), "--ui", "en") as server:
        page = open_page(browser, server.url)
        names = []
        for _ in range(40):
            page.keyboard.press("Tab")
            names.append(page.evaluate("""(() => { const e = document.activeElement;
                return e.getAttribute('aria-label') || (e.labels && e.labels[0] && e.labels[0].textContent)
                       || e.textContent.trim(); })()"""))
        for wanted in ("Save", "Next flagged word", "Mark reviewed", "Burn", "Cue 1 text", "Play from cue 1",
                       f"{FLAGGED[0]}: {REASONS[0]}"):
            assert wanted in names, (wanted, names)
        # Every focusable control has a visible label or an accessible name.
        unnamed = page.evaluate("""[...document.querySelectorAll('button, textarea, [tabindex]')]
            .filter(e => !e.hidden && e.offsetParent !== null)
            .filter(e => !(e.getAttribute('aria-label') || (e.labels && e.labels.length) || e.textContent.trim()))
            .map(e => e.outerHTML.slice(0, 80))""")
        assert unnamed == []
        # The review itself: first flagged word, typed over; second flagged word, accepted as right; save.
        page.keyboard.press("Alt+KeyN")
        page.keyboard.type("حملة")
        page.keyboard.press("Alt+KeyN")
        expect(page.locator("#status")).to_contain_text(f"Cue 2: “{FLAGGED[1]}”")
        page.keyboard.press("Alt+KeyK")
        expect(page.locator("#flag-count")).to_have_text("No flagged words left.")
        page.keyboard.press("Alt+ArrowDown")  # to cue 3
        page.keyboard.press("Alt+BracketRight")  # its start 0.1 s later
        page.keyboard.press("Control+KeyS")
        expect(page.locator("#status")).to_contain_text("Saved (revision 1).", timeout=90_000)
        # Mark reviewed, reached with Tab from the toolbar's first button.
        page.locator("#save").focus()
        for _ in range(8):
            if page.evaluate("document.activeElement.id") == "reviewed":
                break
            page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        expect(page.locator("#reviewed")).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#status")).to_contain_text("Reviewed")
    assert srt_texts(clip)[0] == "مرحبا بكم في حملة الخير"
    doc = read_json(clip)
    assert doc["reviewed"] is True and doc["revision"] == 2
    flagged = {w["text"]: (w["review"], w.get("why")) for w in doc["words"]}
    assert flagged["يصل"] == (False, None) and flagged["حملة"] == (False, None)  # accepted, typed: no flag left
    assert not any(w["review"] for w in doc["words"])
    assert doc["cues"][2]["start"] == 4.24


def test_second_tab_cannot_overwrite_the_first(browser, clip):
    with review_server(str(clip), "--ui", "en") as server:
        first, second = open_page(browser, server.url), open_page(browser, server.url)
        box(first, 1).fill("النص من التبويب الأول")
        first.keyboard.press("Control+KeyS")
        expect(first.locator("#status")).to_contain_text("Saved (revision 1).", timeout=90_000)
        box(second, 1).fill("النص من التبويب الثاني")
        second.get_by_role("button", name="Save", exact=True).click()
        alert = second.get_by_role("alert")
        expect(alert).to_contain_text("saved from another tab or window")
        expect(box(second, 1)).to_have_value("النص من التبويب الثاني")  # the refused edit is still there to copy
        assert srt_texts(clip)[0] == "النص من التبويب الأول"
        # Burn and Mark reviewed from the stale tab are refused too.
        second.evaluate("document.getElementById('alert').hidden = true")
        second.get_by_role("button", name="Mark reviewed").click()
        expect(alert).to_contain_text("saved from another tab or window")
        assert read_json(clip)["reviewed"] is False
        second.evaluate("document.getElementById('alert').hidden = true")
        second.get_by_role("button", name="Burn", exact=True).click()
        expect(alert).to_contain_text("saved from another tab or window")
        assert not clip.with_name("clip.captioned.mp4").exists()
        # A reload shows the saved state.
        second.once("dialog", lambda d: d.accept())  # "leave with unsaved changes?"
        second.reload()
        second.wait_for_selector("body[data-ready=true]")
        expect(box(second, 1)).to_have_value("النص من التبويب الأول")
        expect(second.locator("#status")).to_contain_text("Saved (revision 1).", timeout=90_000)
        # Another program writing the sidecars meanwhile: the page's save is refused as well.
        srt = sidecar(clip, ".srt")
        srt.write_text(srt.read_text(encoding="utf-8").replace("التبويب الأول", "محرر آخر"), encoding="utf-8")
        box(first, 2).fill("تعديل")
        first.keyboard.press("Control+KeyS")
        expect(first.get_by_role("alert")).to_contain_text("another program changed the caption files")
        assert "محرر آخر" in srt.read_text(encoding="utf-8")


def test_a_subtitle_sidecar_edited_after_the_json_is_what_opens(clip):
    """An editor fixed the SRT in another program after `caption` wrote the JSON: the review starts from the SRT
    (the JSON's words still give the kept words their timing)."""
    srt = sidecar(clip, ".srt")
    srt.write_text(srt.read_text(encoding="utf-8").replace("رحلة", "حملة"), encoding="utf-8")
    later = sidecar(clip, ".json").stat().st_mtime + 5
    os.utime(srt, (later, later))
    with review_server(str(clip), "--ui", "en") as server:
        status, doc = _api(server, "GET", "/api/clips/0")
    assert status == 200 and doc["cues"][0]["lines"] == ["مرحبا بكم في حملة الخير"]
    assert [w["text"] for w in doc["cues"][0]["words"]][:2] == ["مرحبا", "بكم"]
    assert doc["flagged"] == 1  # «رحلة» is gone from the text: only «يصل» is left to check


def test_a_sidecar_from_before_review_flags_flags_low_probability_words(clip):
    path = sidecar(clip, ".json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    for word in doc["words"]:
        word.pop("review")
        word.pop("why", None)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with review_server(str(clip), "--ui", "en") as server:
        status, page = _api(server, "GET", "/api/clips/0")
    assert status == 200 and page["flagged"] == 2
    assert [w["text"] for c in page["cues"] for w in c["words"] if w["why"]] == FLAGGED


def _request(server, method: str, path: str, *, headers: dict | None = None, body: bytes | None = None,
             token_header: bool = False):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    hdrs = dict(headers or {})
    if token_header:
        hdrs["X-Captioner-Token"] = server.token
    conn.putrequest(method, path, skip_host="Host" in hdrs, skip_accept_encoding=True)
    for k, v in hdrs.items():
        conn.putheader(k, v)
    if body is not None:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def test_security_token_paths_origin_and_ranges(clip):
    with review_server(str(clip), "--ui", "en") as server:
        t = server.token
        # Without the token (or with a wrong one) every request is refused.
        for path in ("/", "/static/review.js", "/media/0/source", "/api/session", "/api/clips/0",
                     f"/?token={t[:-1]}x", f"/api/clips/0?token={t}"):
            status, _, data = _request(server, "GET", path)
            assert status == 403, (path, status)
        assert _request(server, "POST", "/api/clips/0/save", body=b"{}",
                        headers={"Content-Type": "application/json"})[0] == 403
        # With it: the page, its script, the API, the video.
        status, headers, page = _request(server, "GET", f"/?token={t}")
        assert status == 200 and b'dir="ltr"' in page
        assert "default-src 'none'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
        assert _request(server, "GET", "/api/session", token_header=True)[0] == 200
        # No path from a request reaches the filesystem: ../ (plain, encoded, doubly encoded) is refused.
        secret = clip.parent / "secret.txt"
        secret.write_text("do not serve", encoding="utf-8")
        for path in ("/static/../../../../etc/passwd", "/static/..%2f..%2f..%2fetc%2fpasswd",
                     "/static/%252e%252e%252fsecret.txt", "/media/0/../../secret.txt", "/media/0/..%2Fsecret.txt",
                     "/static/review.js/../../secret.txt", f"/media/0/{secret}"):
            status, _, data = _request(server, "GET", f"{path}?token={t}")
            assert status in (403, 404) and b"do not serve" not in data and b"root:" not in data, (path, status)
        assert _request(server, "GET", f"/media/7/source?token={t}")[0] == 404
        assert _request(server, "GET", f"/media/0/secret?token={t}")[0] == 404
        assert _request(server, "GET", f"/static/index.html?token={t}")[0] == 404
        # Another site cannot drive it: a foreign Origin, a form post, another Host are refused.
        body = json.dumps({"revision": 0, "cues": []}).encode()
        assert _request(server, "POST", "/api/clips/0/save", token_header=True, body=body,
                        headers={"Content-Type": "application/json", "Origin": "http://evil.example"})[0] == 403
        assert _request(server, "POST", "/api/clips/0/save", token_header=True, body=body,
                        headers={"Content-Type": "text/plain"})[0] == 415
        assert _request(server, "GET", "/api/session", token_header=True,
                        headers={"Host": f"evil.example:{server.port}"})[0] == 403
        assert _request(server, "GET", "/api/clips/0/save", token_header=True)[0] == 405
        # Bad documents: one clear error, nothing written.
        before = sidecar(clip, ".srt").read_bytes()
        for bad in ({"revision": 0, "cues": [{"start": 2, "end": 1, "lines": ["x"]}]},
                    {"revision": 0, "cues": [{"start": 0, "end": 1, "lines": "x"}]},
                    {"revision": "0", "cues": []}, [1, 2]):
            status, _, data = _request(server, "POST", "/api/clips/0/save", token_header=True,
                                       body=json.dumps(bad).encode(), headers={"Content-Type": "application/json"})
            assert status == 400 and json.loads(data)["error"], (bad, status, data)
        assert sidecar(clip, ".srt").read_bytes() == before
        # The video is served with range requests (seeking), byte for byte, not transcoded.
        whole = clip.read_bytes()
        status, headers, data = _request(server, "GET", f"/media/0/source?token={t}", headers={"Range": "bytes=1000-1999"})
        assert status == 206 and data == whole[1000:2000]
        assert headers["content-range"] == f"bytes 1000-1999/{len(whole)}"
        status, headers, data = _request(server, "GET", f"/media/0/source?token={t}")
        assert status == 200 and data == whole and headers["accept-ranges"] == "bytes"


def test_page_language_and_direction(browser, clip):
    with review_server(str(clip), "--ui", "ar") as server:
        page = open_page(browser, server.url)
        assert page.locator("html").get_attribute("dir") == "rtl"
        assert page.locator("html").get_attribute("lang") == "ar"
        for name in ("حفظ", "حرق في الفيديو", "تأكيد المراجعة", "الكلمة المعلَّمة التالية"):
            expect(page.get_by_role("button", name=name, exact=True)).to_be_visible()
        expect(page.get_by_label("نص المقطع 1", exact=True)).to_have_value("مرحبا بكم في رحلة الخير")
        # Laid out right to left: the caption list is left of the video.
        assert page.locator("#editor").bounding_box()["x"] < page.locator("#player").bounding_box()["x"]
        # The rule problems in Arabic too.
        page.get_by_label("نص المقطع 3", exact=True).fill("هذا سطر طويل جدا لا يتسع في شريط الترجمة مهما حاولنا أن نكتبه")
        expect(page.locator('li[data-cue="3"] .problems')).to_contain_text("السطر 1: عرضه")
        expect(page.locator('li[data-cue="3"] .problems')).to_contain_text("السطر أعرض من اللازم")
        assert page.errors == []
    # Default: from the locale.
    for lang, direction in (("ar_EG.UTF-8", "rtl"), ("en_US.UTF-8", "ltr")):
        with review_server(str(clip), env={"LANG": lang, "LC_ALL": "", "LC_MESSAGES": ""}) as server:
            status, _, page = _request(server, "GET", f"/?token={server.token}")
            assert f'dir="{direction}"'.encode() in page


def test_bad_input_is_one_line_and_exit_2(tmp_path, clip):
    folder = tmp_path / "plain-folder"
    folder.mkdir()
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    for args in ([str(tmp_path / "missing.mp4")], [str(folder)], [str(clip), "--subs", str(tmp_path / "notes.txt")],
                 [str(clip), "--subs", str(tmp_path / "missing.srt")], [str(clip), "--ui", "fr"],
                 [str(clip), "--port", "70000"], [str(clip), "-o", str(clip)]):
        proc = conftest.run_cli("review", *args, "--no-browser")
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "missing.captioned.srt").exists()


def _api(server, method: str, path: str, payload=None):
    body = None if payload is None else json.dumps(payload).encode()
    status, _, data = _request(server, method, path, token_header=True, body=body,
                               headers={"Content-Type": "application/json"} if body is not None else {})
    return status, json.loads(data)


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            pass
    return found | {g for c in found for g in _children(c) if Path(f"/proc/{c}").exists()}


def test_ctrl_c_during_a_burn_leaves_nothing_behind(tmp_path):
    """Ctrl-C while Burn runs: the server stops, exit 0, the encode is stopped, no output, no partial or
    temporary file, no ffmpeg left running."""
    folder = tmp_path / "clip"
    clip = make_clip(folder, duration=12.0)
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    before = sorted(p.name for p in folder.iterdir())
    with review_server(str(clip), "--ui", "en", "--x264-preset", "slow", env={"TMPDIR": str(private_tmp)}) as server:
        status, doc = _api(server, "GET", "/api/clips/0")
        assert status == 200 and doc["revision"] == 0
        status, job = _api(server, "POST", "/api/clips/0/burn", {"revision": 0})
        assert status == 200 and job["state"] == "running", job
        for _ in range(300):
            status, job = _api(server, "GET", "/api/clips/0/burn")
            if job["state"] != "running" or job["progress"] > 0.05:
                break
            time.sleep(0.1)
        assert job["state"] == "running" and job["progress"] > 0.05, job
        # A second burn while one runs is refused.
        assert _api(server, "POST", "/api/clips/0/burn", {"revision": 0})[0] == 409
        children = _children(server.proc.pid)
        assert children, "no ffmpeg running during the burn"
        server.proc.send_signal(signal.SIGINT)
        server.proc.wait(60)
    assert "the burn in progress was stopped and wrote nothing" in "".join(server.stderr)
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]
    assert sorted(p.name for p in folder.iterdir()) == before
    assert list(private_tmp.iterdir()) == []


@pytest.fixture(scope="session")
def speech_clips(tmp_path_factory) -> list[Path]:
    """Two short clips of the sample's Arabic speech (synthetic voice: Whisper base mishears it, so words get flagged)."""
    folder = tmp_path_factory.mktemp("speech")
    sample = conftest.ROOT / "samples" / "createforgood-ar.mp4"
    clips = []
    for name, start in (("first.mp4", 0.0), ("second.mp4", 11.6)):
        conftest.run_ffmpeg("-ss", str(start), "-t", "5.8", "-i", str(sample), "-c:v", "libx264", "-preset",
                            "ultrafast", "-c:a", "aac", str(folder / name))
        clips.append(folder / name)
    return clips


@pytest.mark.slow
def test_a_clip_without_captions_is_transcribed_first(tmp_path, speech_clips):
    clip = tmp_path / "speech.mp4"
    shutil.copy(speech_clips[0], clip)
    with review_server(str(clip), "--ui", "en") as server:
        status, doc = _api(server, "GET", "/api/clips/0")
    assert status == 200 and doc["cues"] and all(c["words"] for c in doc["cues"])
    assert "transcribed speech.mp4" in "".join(server.stderr)
    for ext in (".srt", ".vtt", ".ass", ".json"):
        assert sidecar(clip, ext).is_file()
    assert read_json(clip)["words"]


@pytest.mark.slow
def test_batch_queue_needing_review_first_and_reviewed_kept_in_records(browser, tmp_path, speech_clips):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for clip in speech_clips:
        shutil.copy(clip, inputs / clip.name)
    out = tmp_path / "out"
    proc = conftest.run_cli("batch", str(inputs), "--out", str(out), "--workers", "1", "-q")
    assert proc.returncode == 0, proc.stderr
    from captioner.batch.records import load_record

    records = {r.name: r for r in (load_record(p) for p in (out / ".captioner" / "jobs").glob("*.json"))}
    assert set(records) == {"first.mp4", "second.mp4"} and all(r.settings for r in records.values())
    order = sorted(records, key=lambda n: (not records[n].needs_review, -records[n].flagged, n))
    with review_server(str(out), "--ui", "en") as server:
        page = open_page(browser, server.url)
        queue = page.locator("#queue-list button")
        expect(queue).to_have_count(2)
        assert [queue.nth(k).locator(".name").text_content() for k in range(2)] == order
        expect(page.locator("#title")).to_have_text(order[0])  # the first clip needing review is open
        # Fix the first clip's first cue, save, mark it reviewed.
        box(page, 1).fill("مرحبا بكم في حملة اصنع الخير")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#status")).to_contain_text("Saved (revision 1).", timeout=90_000)
        page.get_by_role("button", name="Mark reviewed").click()
        expect(page.locator("#reviewed")).to_have_attribute("aria-pressed", "true")
        # The queue keeps its order while it is worked through (reviewed clips go last at the next start).
        expect(queue.nth(0)).to_contain_text("Reviewed")
        expect(queue.nth(0)).to_have_attribute("aria-current", "true")
        queue.nth(1).click()
        expect(page.locator("#title")).to_have_text(order[1])
    first = out / order[0]
    assert first.with_suffix(".srt").read_text(encoding="utf-8").count("حملة اصنع الخير") == 1
    record = next(r for r in (load_record(p) for p in (out / ".captioner" / "jobs").glob("*.json"))
                  if r.name == order[0])
    assert record.reviewed and record.reviewed_at and record.status == "ok"
    # A rerun of the batch skips both clips and keeps the review: the record, and the edited captions.
    proc = conftest.run_cli("batch", str(inputs), "--out", str(out), "--workers", "1", "-q")
    assert proc.returncode == 0 and "2 skipped" in proc.stderr, proc.stderr
    assert "حملة اصنع الخير" in first.with_suffix(".srt").read_text(encoding="utf-8")
    with review_server(str(out), "--ui", "en") as server:
        status, session = _api(server, "GET", "/api/session")
    assert [(c["name"], c["reviewed"]) for c in session["clips"]] == [(order[1], False), (order[0], True)]


def test_every_review_reason_and_string_is_translated():
    from captioner.captions.flags import REASONS
    from captioner.review.i18n import LANGUAGES, strings

    english = json.loads((conftest.ROOT / "captioner" / "review" / "i18n" / "en.json").read_text(encoding="utf-8"))
    for ui in LANGUAGES:
        table = json.loads((conftest.ROOT / "captioner" / "review" / "i18n" / f"{ui}.json").read_text(encoding="utf-8"))
        assert set(english) <= set(table), (ui, set(english) - set(table))
        assert all(f"reason.{r}" in strings(ui) for r in REASONS), ui


@pytest.mark.slow
def test_typed_words_are_aligned_to_the_audio_on_save(tmp_path, speech_clips):
    """The words a person types are timed from the speech (as burn aligns them), the words left keep the recogniser's."""
    from captioner.asr.align import align_words
    from captioner.cues import Cue, Transcript, Word
    from captioner.media.audio import load_audio
    from captioner.pipeline import write_subtitles

    clip = tmp_path / "speech.mp4"
    shutil.copy(speech_clips[0], clip)  # «مرحبا بكم في حملة اصنع الخير.» in the sample's synthetic voice
    heard = ["مرحبا", "بكم", "في", "رحلة", "الخير."]
    times = [(0.3, 1.2), (1.2, 1.9), (1.9, 2.3), (2.3, 3.3), (4.2, 5.4)]
    words = [Word(t, a, b, 0.3 if t == "رحلة" else 0.9, review=t == "رحلة", why=("low-probability",) if t == "رحلة" else ())
             for t, (a, b) in zip(heard, times)]
    cue = Cue(0.1, 5.7, (" ".join(heard),), tuple(words))
    style = reviewpage.CaptionStyle.for_frame(reviewpage.get_preset("tiktok"), 1080, 1920)
    for ext in (".srt", ".vtt", ".ass", ".json"):
        write_subtitles(sidecar(clip, ext), [cue], style, Transcript("ar", 1.0, 5.8, tuple(words)))
    fixed = "مرحبا بكم في حملة اصنع الخير."
    with review_server(str(clip), "--ui", "en") as server:
        status, doc = _api(server, "POST", "/api/clips/0/save",
                           {"revision": 0, "cues": [{"start": 0.1, "end": 5.7, "lines": [fixed]}]})
    assert status == 200 and doc["aligned"] == 1 and doc["align_error"] == "", doc
    saved = {w["text"]: w for w in read_json(clip)["words"]}
    assert [saved[t]["start"] for t in ("مرحبا", "بكم", "في", "الخير.")] == [0.3, 1.2, 1.9, 4.2]  # kept as recognised
    direct = align_words(load_audio(clip), [Cue(0.1, 5.7, (fixed,))], model="base", language="ar")[0].words
    for typed in ("حملة", "اصنع"):
        word, expected = saved[typed], next(w for w in direct if w.text == typed)
        assert word["review"] is False and 0 < word["probability"] < 1, word
        assert abs(word["start"] - expected.start) < 0.02 and abs(word["end"] - expected.end) < 0.02, (word, expected)
    assert 0.1 <= saved["حملة"]["start"] < saved["حملة"]["end"] <= saved["اصنع"]["start"] < saved["اصنع"]["end"] <= 5.7
