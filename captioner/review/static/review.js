// captioner review: the page.  Plain JavaScript, no build step, no third-party code.
// Every piece of text reaches the page through textContent or a text node, never innerHTML.
"use strict";

(() => {
  const TOKEN = new URLSearchParams(location.search).get("token") || "";
  const $ = (id) => document.getElementById(id);
  const video = $("video"), caption = $("caption"), stage = $("stage"), list = $("cues");
  const STEP = 0.1;  // seconds a nudge moves a start or an end
  let S = {};

  const t = (key, values = {}) =>
    String(S[key] ?? key).replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));

  // A string with its placeholders as <bdi dir="ltr"> (file paths keep their order in a right-to-left line).
  const tNodes = (key, values) => String(S[key] ?? key).split(/(\{\w+\})/).map((part) => {
    const name = part.match(/^\{(\w+)\}$/);
    return name && name[1] in values ? h("bdi", { dir: "ltr", text: String(values[name[1]]) }) : part;
  });

  function h(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  // -- the server ---------------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, data) {
      super(data.error || `HTTP ${status}`);
      this.status = status;
      this.code = data.code || "";
    }
  }

  async function api(method, path, body) {
    const init = { method, cache: "no-store", headers: { "X-Captioner-Token": TOKEN } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let data = {};
    try { data = await response.json(); } catch (e) { data = { error: response.statusText }; }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  const mediaUrl = (clip, kind, extra = "") =>
    `/media/${clip}/${kind}?token=${encodeURIComponent(TOKEN)}${extra}`;

  // -- state ----------------------------------------------------------------------------------------------------

  const state = {
    session: null, clip: null, doc: null,
    cues: [],            // {start, end, text, words, accepted: Set of word ids, rtl, problems}
    history: [], future: [], lastKind: null, lastPush: 0,
    dirty: false, saving: false,
    current: -1,         // the cue being worked on (focus), -1: none yet
    flag: null,          // {cue, token, id}: the flagged word last jumped to
    caret: new Map(),    // cue index -> caret offset in its text box
    previews: new Map(), pending: new Set(), shown: "",
    time: 0, videoOk: true,
    checkGen: 0, burnTimer: null,
  };

  // -- words and flags ------------------------------------------------------------------------------------------

  const MARKS = /[\u064B-\u0652\u0670\u0640]/g;
  const wordKey = (s) => s.normalize("NFKC").toLowerCase().replace(MARKS, "").replace(/[^\p{L}\p{N}]/gu, "");
  const readingLength = (s) => s.replace(MARKS, "").replace(/\s+/g, " ").trim().length;
  const linesOf = (text) => text.split(/\r?\n/).map((l) => l.replace(/\s+/g, " ").trim()).filter(Boolean);

  function tokensOf(text) {
    const out = [];
    const re = /\S+/g;
    let m;
    while ((m = re.exec(text))) out.push({ text: m[0], from: m.index, to: m.index + m[0].length });
    return out;
  }

  // Which recognised word each token still is (-1: typed anew): a longest common subsequence of word keys.
  function matchWords(tokens, words) {
    const a = tokens.map((x) => wordKey(x.text)), b = words.map((w) => wordKey(w.text));
    const n = a.length, m = b.length;
    const L = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        L[i][j] = a[i] && a[i] === b[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    const out = new Array(n).fill(-1);
    let i = 0, j = 0;
    while (i < n && j < m) {
      if (a[i] && a[i] === b[j]) { out[i] = j; i++; j++; }
      else if (L[i + 1][j] >= L[i][j + 1]) i++;
      else j++;
    }
    return out;
  }

  function cueTokens(cue) {
    const tokens = tokensOf(cue.text);
    const matched = matchWords(tokens, cue.words);
    return tokens.map((tok, k) => {
      const word = matched[k] >= 0 ? cue.words[matched[k]] : null;
      const why = word && !cue.accepted.has(word.id) ? word.why : [];
      return { ...tok, word, why, edited: !word && cue.words.length > 0 };
    });
  }

  const reasons = (why) => why.map((r) => S[`reason.${r}`] ?? r).join(", ");

  function flagList() {
    const out = [];
    state.cues.forEach((cue, i) => cueTokens(cue).forEach((tok, k) => {
      if (tok.why.length) out.push({ cue: i, token: k, tok });
    }));
    return out;
  }

  // -- showing the cues -----------------------------------------------------------------------------------------

  const pad = (n, w) => String(n).padStart(w, "0");
  function clock(s) {
    const cs = Math.round(s * 100);
    return `${pad(Math.floor(cs / 6000), 2)}:${pad(Math.floor(cs / 100) % 60, 2)}.${pad(cs % 100, 2)}`;
  }

  const rowOf = (i) => list.querySelector(`li[data-cue="${i + 1}"]`);
  const boxOf = (i) => $(`cue-${i + 1}-text`);

  function renderCues() {
    list.replaceChildren(...state.cues.map((cue, i) => cueRow(cue, i)));
    state.cues.forEach((_, i) => renderProblems(i));
    updateFlagCount();
    highlightCurrent(true);
  }

  function cueRow(cue, i) {
    const n = i + 1;
    const box = h("textarea", {
      id: `cue-${n}-text`, rows: Math.max(2, linesOf(cue.text).length), dir: cue.rtl ? "rtl" : "auto",
      spellcheck: "false", autocomplete: "off",
    });
    box.value = cue.text;
    box.addEventListener("input", () => onText(i, box));
    box.addEventListener("focus", () => onFocusCue(i));
    box.addEventListener("change", () => onTextDone(i));
    for (const kind of ["select", "keyup", "click"])
      box.addEventListener(kind, () => state.caret.set(i, box.selectionStart));
    const button = (label, name, action, disabled = false) =>
      h("button", { type: "button", "aria-label": name, disabled, onclick: action,
        onfocus: () => { state.current = i; } }, label);
    const nudgeName = (key) => t("nudge_cue", { label: t(key), n });
    const row = h("li", { class: "cue", "data-cue": n, id: `cue-${n}` },
      h("div", { class: "cue-head" },
        h("label", { for: box.id, text: t("cue_text", { n }) }),
        h("span", { class: "times", text: t("times", { start: clock(cue.start), end: clock(cue.end) }) })),
      h("div", { class: "words", role: "group", "aria-label": t("cue_words", { n }), dir: cue.rtl ? "rtl" : "auto" }),
      box,
      h("p", { class: "empty-note", hidden: linesOf(cue.text).length > 0, text: t("empty_cue") }),
      h("ul", { class: "problems", "aria-label": t("problems", { n }) }),
      h("div", { class: "cue-actions" },
        button(t("play"), t("play_cue", { n }), () => playCue(i)),
        button(t("start_earlier"), nudgeName("start_earlier"), () => nudge(i, "start", -STEP)),
        button(t("start_later"), nudgeName("start_later"), () => nudge(i, "start", STEP)),
        button(t("end_earlier"), nudgeName("end_earlier"), () => nudge(i, "end", -STEP)),
        button(t("end_later"), nudgeName("end_later"), () => nudge(i, "end", STEP)),
        button(t("split"), t("split_cue", { n }), () => split(i)),
        button(t("merge"), t("merge_cue", { n, m: n + 1 }), () => merge(i), i + 1 >= state.cues.length)));
    renderChips(i, row);
    return row;
  }

  function renderChips(i, row = rowOf(i)) {
    if (!row) return;
    const cue = state.cues[i];
    let flagged = false;
    const chips = cueTokens(cue).map((tok, k) => {
      const selected = state.flag && state.flag.cue === i && state.flag.token === k ? " selected" : "";
      if (tok.why.length) {
        flagged = true;
        return h("button", { type: "button", class: `chip flag${selected}`, "aria-label": `${tok.text}: ${reasons(tok.why)}`,
          title: reasons(tok.why), onclick: () => selectFlag(i, k), onfocus: () => { state.current = i; } },
        tok.text, h("small", { dir: "auto", text: reasons(tok.why.slice(0, 1)) + (tok.why.length > 1 ? ` +${tok.why.length - 1}` : "") }));
      }
      return h("span", { class: tok.edited ? "chip edited" : "chip", title: tok.edited ? t("reason.edited") : null },
        tok.text);
    });
    row.querySelector(".words").replaceChildren(...chips);
    row.classList.toggle("has-flag", flagged);
    row.querySelector(".empty-note").hidden = linesOf(cue.text).length > 0;
  }

  function renderProblems(i) {
    const row = rowOf(i);
    if (!row) return;
    const cue = state.cues[i];
    const items = linesOf(cue.text).length ? (cue.problems || []) : [];
    row.querySelector(".problems").replaceChildren(
      ...items.map((p) => h("li", {}, h("strong", { text: t(`rule.${p.rule}`) }), ": ",
        h("bdi", { text: p.message }))));
  }

  function updateTimes(i) {
    const row = rowOf(i);
    if (row) row.querySelector(".times").textContent =
      t("times", { start: clock(state.cues[i].start), end: clock(state.cues[i].end) });
  }

  function updateFlagCount() {
    const n = flagList().length;
    $("flag-count").textContent = n ? t("flagged_count", { n }) : t("no_flags");
  }

  function updateStatus(message) {
    if (message) { $("status").textContent = message; return; }
    const doc = state.doc;
    if (!doc) return;
    $("status").textContent = `${state.dirty ? t("unsaved") : t("saved", { r: doc.revision })} ` +
      `${doc.reviewed ? t("reviewed") : t("not_reviewed")}`;
  }

  function showAlert(message, reload = false) {
    const alert = $("alert");
    alert.replaceChildren(h("span", { text: message }));
    if (reload) alert.append(h("button", { type: "button", onclick: () => location.reload() }, t("reload")));
    alert.hidden = false;
  }
  const hideAlert = () => { $("alert").hidden = true; $("alert").replaceChildren(); };

  function showError(error) {
    if (error instanceof ApiError && ["conflict-tab", "conflict-disk", "busy"].includes(error.code))
      showAlert(t(error.code), error.code !== "busy");
    else showAlert(t("error", { error: error.message }));
  }

  function markDirty() {
    state.dirty = true;
    updateStatus();
  }

  // -- undo -----------------------------------------------------------------------------------------------------

  const snapshot = () => state.cues.map((c) => ({ ...c, accepted: [...c.accepted] }));

  function remember(kind) {
    const now = Date.now();
    if (kind && kind === state.lastKind && now - state.lastPush < 1500) { state.lastPush = now; return; }
    state.history.push(snapshot());
    if (state.history.length > 300) state.history.shift();
    state.future = [];
    state.lastKind = kind;
    state.lastPush = now;
    updateUndo();
  }

  function restore(snap) {
    const focus = state.current;
    state.cues = snap.map((c) => ({ ...c, accepted: new Set(c.accepted) }));
    state.lastKind = null;
    state.flag = null;
    renderCues();
    markDirty();
    scheduleCheck();
    updateUndo();
    if (focus >= 0 && state.cues.length) {
      const i = Math.min(focus, state.cues.length - 1);
      focusCue(i, Math.min(state.caret.get(i) ?? 0, state.cues[i].text.length));
    }
    updatePreview();
  }

  function undo() {
    if (!state.history.length) return;
    state.future.push(snapshot());
    restore(state.history.pop());
  }

  function redo() {
    if (!state.future.length) return;
    state.history.push(snapshot());
    restore(state.future.pop());
  }

  function updateUndo() {
    $("undo").disabled = !state.history.length;
    $("redo").disabled = !state.future.length;
  }

  // -- editing --------------------------------------------------------------------------------------------------

  function onText(i, box) {
    remember(`text:${i}`);
    state.cues[i].text = box.value;
    state.caret.set(i, box.selectionStart);
    if (state.flag && state.flag.cue === i) state.flag = null;
    markDirty();
    renderChips(i);
    updateFlagCount();
    scheduleCheck();
    schedulePreview();
  }

  // When a text box is left: the text normalised as burn normalises it (punctuation at the logical end...).
  async function onTextDone(i) {
    await runCheck();
    const cue = state.cues[i];
    if (!cue || !cue.normalised) return;
    const text = cue.normalised.join("\n");
    if (linesOf(cue.text).join("\n") !== text) {
      remember(null);
      cue.text = text;
      const box = boxOf(i);
      if (box) box.value = text;
      renderChips(i);
    }
  }

  function onFocusCue(i) {
    state.current = i;
    highlightCurrent();
    const cue = state.cues[i];
    const now = currentTime();
    if (cue && (video.paused || !state.videoOk) && (now < cue.start || now >= cue.end))
      seek(Math.min(cue.start + 0.01, (cue.start + cue.end) / 2));
  }

  function focusCue(i, caret) {
    if (i < 0 || i >= state.cues.length) return;
    const box = boxOf(i);
    if (!box) return;
    box.focus();
    if (caret !== undefined) box.setSelectionRange(caret, caret);
    rowOf(i).scrollIntoView({ block: "nearest" });
  }

  function currentCue() {
    if (state.current >= 0 && state.current < state.cues.length) return state.current;
    const at = cueAt(currentTime());
    return at >= 0 ? at : (state.cues.length ? 0 : -1);
  }

  const round3 = (x) => Math.round(x * 1000) / 1000;

  function nudge(i, edge, delta) {
    const cue = state.cues[i];
    if (!cue) return;
    const duration = state.doc.duration;
    let value = round3(cue[edge] + delta);
    value = edge === "start" ? Math.max(0, Math.min(value, round3(cue.end - STEP)))
      : Math.min(duration, Math.max(value, round3(cue.start + STEP)));
    if (value === cue[edge]) return;
    remember(`nudge:${edge}:${i}`);
    cue[edge] = value;
    updateTimes(i);
    markDirty();
    scheduleCheck();
    // Show the frame at the new boundary: the first frame of the cue, or its last.
    seek(edge === "start" ? value + 0.001 : Math.max(cue.start, value - 0.04));
  }

  function split(i, at) {
    const cue = state.cues[i];
    if (!cue) return;
    const text = cue.text;
    const tokens = tokensOf(text);
    let pos = at ?? state.caret.get(i) ?? 0;
    if (!text.slice(0, pos).trim() || !text.slice(pos).trim()) {
      if (tokens.length < 2) { updateStatus(t("cannot_split")); return; }
      pos = tokens[Math.ceil(tokens.length / 2)].from;
    }
    const before = text.slice(0, pos).trim(), after = text.slice(pos).trim();
    // Where the second part's first recognised word starts, else the time shared out by reading length.
    const tokensInfo = cueTokens(cue);
    const first = tokensInfo.findIndex((tok) => tok.from >= pos);
    let when = first >= 0 && tokensInfo[first].word ? tokensInfo[first].word.start : null;
    if (when === null || when <= cue.start + STEP || when >= cue.end - STEP)
      when = cue.start + (cue.end - cue.start) * readingLength(before) / Math.max(1, readingLength(before) + readingLength(after));
    const gap = state.doc.min_gap;
    if (when - gap - cue.start < STEP || cue.end - when < STEP) { updateStatus(t("cannot_split")); return; }
    remember(null);
    const a = { ...cue, end: round3(when - gap), text: before, words: cue.words.filter((w) => w.start < when),
      accepted: new Set(cue.accepted), problems: [] };
    const b = { ...cue, start: round3(when), text: after, words: cue.words.filter((w) => w.start >= when),
      accepted: new Set(cue.accepted), problems: [] };
    state.cues.splice(i, 1, a, b);
    state.flag = null;
    renderCues();
    markDirty();
    scheduleCheck();
    focusCue(i + 1, 0);
  }

  function merge(i) {
    if (i < 0 || i + 1 >= state.cues.length) return;
    remember(null);
    const a = state.cues[i], b = state.cues[i + 1];
    const joined = [a.text, b.text].map((s) => linesOf(s).join(" ")).filter(Boolean).join("\n");
    state.cues.splice(i, 2, {
      start: a.start, end: Math.max(a.end, b.end), text: joined, words: a.words.concat(b.words),
      accepted: new Set([...a.accepted, ...b.accepted]), rtl: a.rtl || b.rtl, problems: [],
    });
    state.flag = null;
    renderCues();
    markDirty();
    scheduleCheck();
    focusCue(i, linesOf(a.text).join(" ").length);
  }

  // A cue for speech the recogniser missed: at the video's time, up to 2 s, in the gap between captions.
  function addCue() {
    if (!state.doc) return;
    const time = currentTime(), gap = state.doc.min_gap;
    if (cueAt(time) >= 0) { updateStatus(t("no_room")); return; }
    let i = state.cues.findIndex((c) => c.start > time);
    if (i < 0) i = state.cues.length;
    const after = i > 0 ? state.cues[i - 1].end + gap : 0;
    const before = i < state.cues.length ? state.cues[i].start - gap : state.doc.duration;
    const start = round3(Math.max(time, after)), end = round3(Math.min(start + 2, before));
    if (end - start < 2 * STEP) { updateStatus(t("no_room")); return; }
    remember(null);
    state.cues.splice(i, 0, { start, end, text: "", words: [], accepted: new Set(), problems: [],
      rtl: state.cues.some((c) => c.rtl) });
    state.flag = null;
    renderCues();
    markDirty();
    focusCue(i, 0);
  }

  function playCue(i) {
    const cue = state.cues[i];
    if (!cue) return;
    state.current = i;
    seek(cue.start + 0.001);
    if (state.videoOk) video.play().catch(() => {});
  }

  // -- flagged words --------------------------------------------------------------------------------------------

  function nextFlag(direction = 1) {
    const flags = flagList();
    if (!flags.length) { state.flag = null; updateAccept(); updateStatus(t("no_flags")); return; }
    const here = state.flag ? [state.flag.cue, state.flag.token]
      : [Math.max(currentCue(), 0), direction > 0 ? -1 : Infinity];
    const after = (f) => f.cue > here[0] || (f.cue === here[0] && f.token > here[1]);
    const before = (f) => f.cue < here[0] || (f.cue === here[0] && f.token < here[1]);
    const pick = direction > 0 ? (flags.find(after) || flags[0])
      : ([...flags].reverse().find(before) || flags[flags.length - 1]);
    selectFlag(pick.cue, pick.token);
  }

  function selectFlag(i, k) {
    const tok = cueTokens(state.cues[i])[k];
    if (!tok || !tok.word) return;
    const previous = state.flag;
    state.flag = { cue: i, token: k, id: tok.word.id };
    if (previous && previous.cue !== i) renderChips(previous.cue);
    renderChips(i);
    const box = boxOf(i);
    box.focus();
    box.setSelectionRange(tok.from, tok.to);
    state.caret.set(i, tok.from);
    rowOf(i).scrollIntoView({ block: "nearest" });
    seek(Math.max(state.cues[i].start, Math.min(tok.word.start, state.cues[i].end - 0.01)));
    updateAccept();
    updateStatus(t("flag_at", { n: i + 1, word: tok.text, why: reasons(tok.why) }));
  }

  function acceptFlag() {
    const flag = state.flag;
    if (!flag) return;
    const cue = state.cues[flag.cue];
    const tok = cue && cueTokens(cue)[flag.token];
    if (!tok || !tok.word || tok.word.id !== flag.id) { state.flag = null; updateAccept(); return; }
    remember(null);
    cue.accepted.add(flag.id);
    markDirty();
    renderChips(flag.cue);
    updateFlagCount();
    updateStatus(t("word_accepted", { word: tok.text }));
    state.flag = { ...flag, token: flag.token };
    if (flagList().length) nextFlag(1);
    else { state.flag = null; updateAccept(); }
  }

  function updateAccept() {
    $("accept").disabled = !state.flag;
  }

  // -- lint, as the text changes --------------------------------------------------------------------------------

  let checkTimer = null;
  function scheduleCheck() {
    clearTimeout(checkTimer);
    checkTimer = setTimeout(runCheck, 350);
  }

  async function runCheck() {
    clearTimeout(checkTimer);
    const clip = state.clip, gen = ++state.checkGen;
    const cues = state.cues.map((c) => ({ start: c.start, end: c.end, lines: linesOf(c.text) }));
    try {
      const result = await api("POST", `/api/clips/${clip}/check`, { cues });
      if (gen !== state.checkGen || clip !== state.clip) return;
      result.cues.forEach((r, i) => {
        const cue = state.cues[i];
        cue.problems = r.problems;
        cue.normalised = r.lines;
        cue.rtl = r.rtl;
        renderProblems(i);
      });
    } catch (error) {
      if (gen === state.checkGen) showError(error);
    }
  }

  // -- the caption as burned, over the video --------------------------------------------------------------------

  const currentTime = () => (state.videoOk && video.readyState > 0 ? video.currentTime : state.time);

  function seek(time) {
    state.time = Math.max(0, time);
    if (state.videoOk && video.readyState > 0) video.currentTime = state.time;
    updatePreview();
  }

  function cueAt(time) {
    for (let i = 0; i < state.cues.length; i++) {
      const c = state.cues[i];
      if (c.start <= time && time < c.end && linesOf(c.text).length) return i;
    }
    return -1;
  }

  const previewKey = (c) => JSON.stringify([c.start, c.end, linesOf(c.text)]);

  let previewTimer = null;
  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(updatePreview, 250);
  }

  let lastCurrent = -2;
  function highlightCurrent(force = false) {
    const at = cueAt(currentTime());
    const mark = state.current >= 0 ? state.current : at;
    if (!force && mark === lastCurrent) return;
    lastCurrent = mark;
    for (const row of list.querySelectorAll("li.current")) row.classList.remove("current");
    const row = mark >= 0 ? rowOf(mark) : null;
    if (row) row.classList.add("current");
  }

  function updatePreview() {
    const time = currentTime();
    highlightCurrent();
    const i = cueAt(time);
    if (i < 0) { hideCaption(); return; }
    const key = previewKey(state.cues[i]);
    const preview = state.previews.get(key);
    if (preview) showShots(preview, time);
    else requestPreview(i, key);
  }

  async function requestPreview(i, key) {
    if (state.pending.has(key)) return;
    state.pending.add(key);
    const c = state.cues[i], clip = state.clip;
    try {
      const result = await api("POST", `/api/clips/${clip}/render`,
        { cue: { start: c.start, end: c.end, lines: linesOf(c.text) } });
      if (clip !== state.clip) return;
      state.previews.set(key, { shots: result.shots, changes: result.changes });
      if (state.previews.size > 400) state.previews.delete(state.previews.keys().next().value);
      updatePreview();
    } catch (error) {
      // A cue the server cannot draw (a time out of range while typing): nothing is shown for it.
    } finally {
      state.pending.delete(key);
    }
  }

  function hideCaption() {
    caption.hidden = true;
    state.shown = "";
    $("preview-note").textContent = "";
  }

  function showShots(preview, time) {
    const shots = preview.shots;
    if (!shots.length) { hideCaption(); return; }
    const shot = shots.find((s) => s.start <= time && time < s.end) || shots[0];
    const frame = state.doc.frame;
    if (state.shown !== shot.png) {
      caption.src = `data:image/png;base64,${shot.png}`;
      caption.alt = shot.lines.join(" ");
      state.shown = shot.png;
    }
    caption.style.left = `${(shot.x / frame.width) * 100}%`;
    caption.style.top = `${(shot.y / frame.height) * 100}%`;
    caption.style.width = `${(shot.width / frame.width) * 100}%`;
    caption.hidden = false;
    // What the burn's re-flow does to this cue (re-broken lines, cut in parts), as burn will say it.
    $("preview-note").textContent = preview.changes.map((line) => line.replace(/^#\d+ \S+ /, "")).join("; ");
  }

  function setupStage(doc) {
    const frame = doc.frame;
    stage.style.setProperty("--ar", String(frame.width / frame.height));
    video.className = frame.mode === "fill" ? "fill" : frame.mode === "none" ? "stretch" : "";
    const inset = $("inset");
    if (doc.sign) {
      const s = doc.sign;
      inset.style.left = `${(s.left / frame.width) * 100}%`;
      inset.style.top = `${(s.top / frame.height) * 100}%`;
      inset.style.width = `${((s.right - s.left) / frame.width) * 100}%`;
      inset.style.height = `${((s.bottom - s.top) / frame.height) * 100}%`;
      inset.textContent = t("interpreter");
      inset.hidden = false;
    } else inset.hidden = true;
  }

  function onFrame() {
    updatePreview();
    if (!video.paused && video.requestVideoFrameCallback) video.requestVideoFrameCallback(onFrame);
  }

  video.addEventListener("play", () => {
    state.current = -1;
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(onFrame);
  });
  video.addEventListener("timeupdate", () => { state.time = video.currentTime; updatePreview(); });
  video.addEventListener("seeked", updatePreview);
  video.addEventListener("loadedmetadata", () => {
    state.videoOk = true;
    $("video-note").hidden = true;
    if (Math.abs(video.currentTime - state.time) > 0.01) video.currentTime = state.time;
    updatePreview();
  });
  video.addEventListener("error", () => {
    if (!video.getAttribute("src")) return;
    state.videoOk = false;
    $("video-note").textContent = t("video_error");
    $("video-note").hidden = false;
  });

  // -- loading, saving, burning ---------------------------------------------------------------------------------

  function loadDoc(doc, keepHistory = false) {
    state.doc = doc;
    state.clip = doc.clip;
    state.cues = doc.cues.map((c) => ({
      start: c.start, end: c.end, text: c.lines.join("\n"), words: c.words, accepted: new Set(), rtl: c.rtl,
      problems: c.problems,
    }));
    if (!keepHistory) {
      state.history = [];
      state.future = [];
      state.previews.clear();
      state.current = -1;
    }
    state.lastKind = null;
    state.dirty = false;
    state.flag = null;
    state.caret.clear();
    $("title").textContent = doc.name;
    document.title = t("page_title", { name: doc.name });
    $("saves").replaceChildren(...tNodes("saves_to", { paths: doc.saves.join(", ") }));
    $("writes").replaceChildren(...tNodes("output_is", { path: doc.output.path }));
    $("reviewed").setAttribute("aria-pressed", doc.reviewed ? "true" : "false");
    renderCues();
    updateStatus();
    updateUndo();
    updateAccept();
    updatePreview();
  }

  async function openClip(n) {
    if (state.dirty && !window.confirm(t("leave_unsaved"))) return;
    updateStatus(t("loading"));
    hideAlert();
    try {
      const doc = await api("GET", `/api/clips/${n}`);
      clearTimeout(state.burnTimer);
      state.time = 0;
      state.videoOk = true;
      $("video-note").hidden = true;
      $("result").hidden = true;
      $("result").removeAttribute("src");
      video.src = mediaUrl(n, "source");
      setupStage(doc);
      loadDoc(doc);
      showBurn(doc.burn, n);
      if (doc.burn.state === "running") pollBurn(n);
      history.replaceState(null, "", `${location.pathname}${location.search}#clip=${n}`);
      markQueue();
    } catch (error) {
      showError(error);
    }
  }

  async function save() {
    if (state.saving || !state.doc) return false;
    state.saving = true;
    const clip = state.clip, focus = state.current, caret = state.caret.get(focus);
    const payload = {
      revision: state.doc.revision,
      cues: state.cues.map((c) => ({ start: c.start, end: c.end, lines: linesOf(c.text), accepted: [...c.accepted] })),
    };
    updateStatus(t("saving"));
    try {
      const doc = await api("POST", `/api/clips/${clip}/save`, payload);
      hideAlert();
      loadDoc(doc, true);
      if (focus >= 0 && focus < state.cues.length) focusCue(focus, caret);
      refreshQueue();
      return true;
    } catch (error) {
      showError(error);
      updateStatus();
      return false;
    } finally {
      state.saving = false;
    }
  }

  async function toggleReviewed() {
    if (state.dirty && !(await save())) return;
    try {
      const doc = await api("POST", `/api/clips/${state.clip}/reviewed`,
        { revision: state.doc.revision, reviewed: !state.doc.reviewed });
      loadDoc(doc, true);
      refreshQueue();
    } catch (error) {
      showError(error);
    }
  }

  async function burn() {
    if (state.dirty && !(await save())) return;
    const clip = state.clip;
    try {
      const job = await api("POST", `/api/clips/${clip}/burn`, { revision: state.doc.revision });
      showBurn(job, clip);
      pollBurn(clip);
    } catch (error) {
      showError(error);
    }
  }

  function pollBurn(clip) {
    clearTimeout(state.burnTimer);
    state.burnTimer = setTimeout(async () => {
      if (clip !== state.clip) return;
      try {
        const job = await api("GET", `/api/clips/${clip}/burn`);
        showBurn(job, clip);
        if (job.state === "running") pollBurn(clip);
      } catch (error) {
        showError(error);
      }
    }, 400);
  }

  function showBurn(job, clip) {
    const bar = $("burn-progress"), label = $("burn-progress-label"), status = $("burn-status"), result = $("result");
    const running = job.state === "running";
    $("burn-changes").replaceChildren(...(job.changes || []).map((line) => h("li", { text: line })));
    bar.hidden = label.hidden = !running;
    $("burn").disabled = running;
    if (running) {
      bar.value = Math.round(job.progress * 100);
      status.textContent = t("burning", { p: Math.round(job.progress * 100) });
    } else if (job.state === "done") {
      status.replaceChildren(...tNodes("burned", { path: state.doc.output.path, s: job.seconds }));
      result.src = mediaUrl(clip, "output", `&revision=${job.revision}&t=${Date.now()}`);
      result.setAttribute("aria-label", t("result"));
      result.hidden = false;
    } else if (job.state === "failed") status.textContent = t("burn_failed", { error: job.error });
    else if (job.state === "cancelled") status.textContent = t("burn_cancelled");
    else status.textContent = "";
  }

  // -- a batch's queue ------------------------------------------------------------------------------------------

  function renderQueue(clips) {
    $("queue-list").replaceChildren(...clips.map((c) => {
      const state_ = c.reviewed ? t("reviewed") : c.flagged ? t("queue_flagged", { n: c.flagged }) : t("not_reviewed");
      return h("li", {},
        h("button", { type: "button", "data-clip": c.clip, onclick: () => openClip(c.clip),
          "aria-label": t("queue_item", { name: c.name, state: state_ }) },
        h("span", { class: "name", text: c.name }),
        h("span", { class: `state${c.reviewed ? " done" : c.flagged ? " flagged" : ""}`, text: state_ })));
    }));
    markQueue();
  }

  function markQueue() {
    for (const button of $("queue-list").querySelectorAll("button"))
      button.setAttribute("aria-current", String(Number(button.dataset.clip) === state.clip));
  }

  async function refreshQueue() {
    if (!state.session || !state.session.batch) return;
    try { renderQueue(await api("GET", "/api/queue")); } catch (error) { /* the queue shows its last state */ }
  }

  // -- keyboard -------------------------------------------------------------------------------------------------

  document.addEventListener("keydown", (e) => {
    const mod = e.ctrlKey || e.metaKey;
    const inBox = e.target instanceof HTMLTextAreaElement && e.target.id.startsWith("cue-");
    if (mod && !e.altKey) {
      if (e.code === "KeyS") { e.preventDefault(); save(); return; }
      if (e.code === "KeyZ") { e.preventDefault(); if (e.shiftKey) redo(); else undo(); return; }
      if (e.code === "KeyY") { e.preventDefault(); redo(); return; }
      if (e.key === "Enter" && inBox) {
        e.preventDefault();
        split(state.cues.findIndex((_, i) => boxOf(i) === e.target), e.target.selectionStart);
        return;
      }
      return;
    }
    if (!e.altKey || mod) return;
    const cue = currentCue();
    switch (e.code) {
      case "KeyN": nextFlag(e.shiftKey ? -1 : 1); break;
      case "KeyK": acceptFlag(); break;
      case "KeyA": addCue(); break;
      case "KeyM": merge(cue); break;
      case "KeyP": playCue(cue); break;
      case "BracketLeft": nudge(cue, e.shiftKey ? "end" : "start", -STEP); break;
      case "BracketRight": nudge(cue, e.shiftKey ? "end" : "start", STEP); break;
      case "ArrowDown": focusCue(cue + 1); break;
      case "ArrowUp": focusCue(cue - 1); break;
      default: return;
    }
    e.preventDefault();
  });

  window.addEventListener("beforeunload", (e) => {
    if (state.dirty) { e.preventDefault(); e.returnValue = ""; }
  });

  // -- start ----------------------------------------------------------------------------------------------------

  function label() {
    for (const node of document.querySelectorAll("[data-label]")) node.textContent = t(node.dataset.label);
    for (const node of document.querySelectorAll("[data-aria-label]")) node.setAttribute("aria-label", t(node.dataset.ariaLabel));
    $("skip").textContent = t("cues");
    const keys = [
      ["Ctrl+S", "key.save"], ["Ctrl+Z / Ctrl+Shift+Z", "key.undo"], ["Alt+N / Alt+Shift+N", "key.next"],
      ["Alt+K", "key.accept"], ["Alt+A", "key.add"], ["Ctrl+Enter", "key.split"], ["Alt+M", "key.merge"], ["Alt+[ / Alt+]", "key.start"],
      ["Alt+Shift+[ / Alt+Shift+]", "key.end"], ["Alt+P", "key.play"], ["Alt+↑ / Alt+↓", "key.move"],
    ];
    $("keys").replaceChildren(...keys.flatMap(([k, d]) => [h("dt", { text: k }), h("dd", { text: t(d) })]));
  }

  async function init() {
    $("save").addEventListener("click", save);
    $("next-flag").addEventListener("click", () => nextFlag(1));
    $("accept").addEventListener("click", acceptFlag);
    $("add").addEventListener("click", addCue);
    $("undo").addEventListener("click", undo);
    $("redo").addEventListener("click", redo);
    $("reviewed").addEventListener("click", toggleReviewed);
    $("burn").addEventListener("click", burn);
    try {
      const session = await api("GET", "/api/session");
      state.session = session;
      S = session.strings;
      label();
      const font = new FontFace("Caption", `url(/static/font?token=${encodeURIComponent(TOKEN)})`, { weight: "100 900" });
      font.load().then((f) => document.fonts.add(f)).catch(() => {});
      if (session.batch) {
        $("main").classList.add("with-queue");
        $("queue").hidden = false;
        renderQueue(session.clips);
      }
      const wanted = Number((location.hash.match(/clip=(\d+)/) || [])[1]);
      const clips = session.clips.map((c) => c.clip);
      await openClip(clips.includes(wanted) ? wanted : clips[0]);
      document.body.dataset.ready = "true";
    } catch (error) {
      showError(error);
    }
  }

  init();
})();
