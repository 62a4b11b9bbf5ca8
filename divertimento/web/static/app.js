// The studio page: talks to the JSON API of the server that served it, and to nothing else. The piano-roll is in
// roll.js, the live stream in stream.js, the library tab in library.js.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const synth = new window.StudioSynth();
  const state = { info: null, listener: null, token: null, picked: [], playing: null, stream: null,
                  streamBars: 0, lastBar: null, scheduled: 0, pieces: {} };
  window.studioState = state; // for tests and the curious
  let library = null;

  // A message next to the control that caused it: `box` is that control's status line.
  function say(box, text, error) {
    box.classList.remove("busy");
    box.classList.toggle("error", !!error);
    box.textContent = text;
  }

  async function api(path, body, opts) {
    const headers = {};
    if (state.token) headers["Authorization"] = `Bearer ${state.token}`;  // the listener's secret, never in a URL
    if (body !== undefined && !(body instanceof FormData)) headers["Content-Type"] = "application/json";
    const init = body instanceof FormData ? { method: "POST", body, headers } :
      body !== undefined ? { method: "POST", headers, body: JSON.stringify(body) } : { headers };
    const res = await fetch(path, Object.assign(init, opts || {}));
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      let detail = data && data.detail;
      if (Array.isArray(detail)) detail = detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
      if (res.status === 503) detail = `${detail || "busy"} (try again in ${res.headers.get("Retry-After") || "a few"} s)`;
      throw new Error(detail || `${res.status} ${res.statusText}`);
    }
    return data;
  }

  // ---- one player per piece: the in-page synth, with the roll's playhead on the synth's clock ----

  function stepSeconds(p) { return 60 / p.tempo / 4; }

  // play steps [from, to) of piece p; the playhead follows AudioContext time, the clock the notes sound on
  function play(p, roll, btn, from, to) {
    stopPlaying();
    const notes = p.notes.filter((n) => n[1] < to && n[1] + n[2] > from)
      .map(([v, s, d, pitch]) => [v, Math.max(s, from) - from, Math.min(s + d, to) - Math.max(s, from), pitch]);
    const t0 = synth.now() + 0.08;
    synth.playNotes(notes, stepSeconds(p), t0, p.drums);
    state.scheduled += notes.length;
    btn.textContent = "■ Stop"; btn.classList.add("on");
    const run = { id: p.id, btn, roll, from, to, t0, step: from, frame: 0 };
    // a fallback end for a hidden tab, where animation frames stop
    run.timer = setTimeout(stopPlaying, ((to - from) * stepSeconds(p) + 0.5) * 1000);
    const tick = () => {
      if (state.playing !== run) return;
      run.step = from + Math.max(0, synth.now() - t0) / stepSeconds(p);
      if (run.step >= to) { stopPlaying(); return; }
      roll.setPlayhead(run.step);
      run.frame = requestAnimationFrame(tick);
    };
    state.playing = run;
    tick();
  }

  function stopPlaying() {
    const run = state.playing;
    if (!run) return;
    state.playing = null;
    synth.stopAll();
    clearTimeout(run.timer); cancelAnimationFrame(run.frame);
    run.roll.setPlayhead(null);
    run.btn.textContent = "▶ Play"; run.btn.classList.remove("on");
  }

  // ---- cards ----

  function originalityBadge(o) {
    const b = document.createElement("span");
    b.className = "badge";
    if (!o) { b.classList.add("na"); b.textContent = "originality n/a"; b.title = "no training data on the server"; return b; }
    if (o.near_copy) b.classList.add("copy");
    b.textContent = o.near_copy ? `near-copy (${Math.round(o.copy_score * 100)}% shared)` :
      `originality ${o.distance.toFixed(2)}`;
    b.title = `shares ${Math.round(o.copy_score * 100)}% of its notes with the nearest training window` +
      (o.nearest ? ` (${o.nearest}, transposed ${o.transposition})` : "") +
      `; longest copied run: ${o.longest_copied_ngram} notes`;
    return b;
  }

  function button(text, cls, onClick) {
    const b = document.createElement("button");
    b.type = "button"; b.textContent = text; b.className = cls || "small";
    b.addEventListener("click", onClick);
    return b;
  }

  function div(cls, text) {
    const d = document.createElement("div");
    d.className = cls; if (text) d.textContent = text;
    return d;
  }

  // a piece's card; opts.entry: it is shown in the library (library.js adds the name, tags and its own actions)
  function card(p, opts) {
    opts = opts || {};
    state.pieces[p.id] = p;
    const el = document.createElement("article");
    el.className = "card"; el.dataset.id = p.id;
    const h = document.createElement("h3");
    const t = document.createElement("span"); t.textContent = p.title; h.appendChild(t);
    h.appendChild(originalityBadge(p.originality));
    el.appendChild(h);
    el.appendChild(div("muted meta", `${p.style} · ${p.meter} · ${p.kind} · ${p.bars} bars · ${p.notes.length} notes · ` +
      `${Math.round(p.tempo)} qpm`));
    const status = div("card-status muted");
    status.setAttribute("role", "status");
    const playBtn = button("▶ Play", "small play", () =>
      (state.playing && state.playing.id === p.id && state.playing.btn === playBtn ? stopPlaying()
        : play(p, roll, playBtn, 0, p.bars * p.steps_per_bar)));
    const roll = new window.StudioRoll.PianoRoll(p, (bar) => {
      synth.ensure();
      play(p, roll, playBtn, bar * p.steps_per_bar, (bar + 1) * p.steps_per_bar);
      say(status, `bar ${bar + 1}`);
    });
    el.appendChild(roll.el);
    requestAnimationFrame(() => roll.draw());
    const player = div("row player");
    player.appendChild(playBtn);
    for (const [fmt, label] of [["mid", "MIDI"], ["musicxml", "MusicXML"], ["ogg", "OGG"]]) {
      const a = document.createElement("a");
      a.href = p.files[fmt]; a.textContent = label; a.setAttribute("download", ""); a.className = `dl-${fmt}`;
      a.title = fmt === "ogg" ? "audio rendered on the server with FluidSynth" : `download ${label}`;
      player.appendChild(a);
    }
    el.appendChild(player);
    const row = div("row actions");
    if (!opts.entry) {
      const keep = button(library && library.isKept(p.id) ? "★ Kept" : "☆ Keep", "small keep",
                          () => library.toggleKeep(p, status));
      keep.classList.toggle("on", !!(library && library.isKept(p.id)));
      keep.title = "keep it in your library, with its seed and settings";
      const like = button("Like", "small like", () => rate(p, like.classList.contains("on") ? 0 : 1, status));
      const dislike = button("Dislike", "small dislike", () => rate(p, dislike.classList.contains("on") ? 0 : -1, status));
      row.append(keep, like, dislike);
    }
    const vary = button("Variations", "small vary", () => {
      const distance = +$("distance").value;
      run(() => api("/api/variations", { piece_id: p.id, n: 3, distance }),
          { doing: `making variations at distance ${distance}`, status, button: vary, after: el });
    });
    const more = button("+4 bars", "small continue", () =>
      run(() => api("/api/continue", { piece_id: p.id, bars: 4 }), { doing: "continuing", status, button: more, after: el }));
    row.append(vary, more);
    if (!opts.entry) {
      const pick = document.createElement("label"); pick.className = "check muted";
      const box = document.createElement("input"); box.type = "checkbox"; box.className = "pick";
      box.addEventListener("change", () => {
        state.picked = state.picked.filter((x) => x !== p.id);
        if (box.checked) state.picked.push(p.id);
        $("morph-btn").disabled = state.picked.length !== 2;
      });
      pick.append(box, document.createTextNode("morph"));
      row.appendChild(pick);
    }
    el.appendChild(row);
    el.appendChild(status);
    return el;
  }

  // new cards go after the card whose button made them (variations, continuations), else first in the session;
  // stay: leave the library tab open (its own status line says where the piece went)
  function show(pieces, after, stay) {
    let at = after && after.closest("#cards") ? after : null;
    if (at) for (const p of pieces) { const c = card(p); at.after(c); at = c; }
    else for (const p of pieces.slice().reverse()) $("cards").prepend(card(p));
    if (!stay) showTab("session");
  }

  // Work on the server: its status line shows a spinner and the seconds so far until it ends, then the outcome.
  // job: doing (words), status (the line next to the control), button (disabled meanwhile), after (see show),
  // stay (see show), note(data) (the outcome's words; default: the pieces made)
  async function run(fn, job) {
    const box = job.status, t0 = performance.now();
    box.classList.remove("error"); box.classList.add("busy");
    box.textContent = "";
    const spin = document.createElement("span"); spin.className = "spinner"; spin.setAttribute("aria-hidden", "true");
    const words = document.createElement("span");
    const bar = document.createElement("progress"); bar.className = "work";  // indeterminate: no honest fraction
    box.append(spin, words, bar);
    const panel = box.closest(".panel, .card");
    if (panel) panel.setAttribute("aria-busy", "true");
    const tick = () => (words.textContent = ` ${job.doing}… ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    tick();
    const timer = setInterval(tick, 200);
    if (job.button) job.button.disabled = true;
    try {
      const data = await fn();
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      show(data.pieces, job.after, job.stay);
      let note = `${data.pieces.length} piece(s) in ${secs} s`;
      if (data.near_copies_replaced) note += `; ${data.near_copies_replaced} near-copies replaced`;
      if (data.ratings_used !== undefined) note += `; steered by ${data.ratings_used} rating(s)`;
      if (data.seed !== undefined) note += `; seed ${data.seed}`;
      say(box, job.note ? job.note(data) : note + ".");
      return data;
    } catch (e) {
      say(box, `Could not finish ${job.doing}: ${e.message}`, true);
    } finally {
      clearInterval(timer);
      if (job.button) job.button.disabled = false;
      if (panel) panel.removeAttribute("aria-busy");
    }
  }

  function showTab(name) {
    for (const [tab, view] of [["session", "cards"], ["library", "library-view"]]) {
      $(`tab-${tab}`).setAttribute("aria-selected", String(tab === name));
      $(view).hidden = tab !== name;
    }
  }

  // ---- listener, ratings ----

  function generateBody() {
    const body = { n: +$("n").value || 1, bars: +$("bars").value || 4, avoid_copies: $("avoid").checked };
    if ($("style").value) body.style = $("style").value;
    if ($("meter").value) body.meter = $("meter").value;
    if ($("form").value) body.form = $("form").value;
    if ($("temperature").value) body.temperature = +$("temperature").value;
    if ($("seed").value !== "") body.seed = +$("seed").value;
    return body;
  }

  async function ensureListener() {
    if (state.listener) return state.listener;
    const name = $("listener-name").value.trim() || "listener";
    const data = await api("/api/listeners", { name });
    state.listener = data.id;
    state.token = data.token;
    localStorage.setItem("divertimento.listener", data.id);
    localStorage.setItem("divertimento.listener.token", data.token);
    localStorage.setItem("divertimento.listener.name", name);
    return data.id;
  }

  async function refreshListener() {
    if (!state.listener) { $("listener-stats").textContent = "no ratings yet"; return; }
    try {
      const prof = await api(`/api/listeners/${state.listener}`);
      $("listener-stats").textContent = `${prof.likes} liked · ${prof.dislikes} disliked`;
      for (const r of prof.ratings) markRating(r.piece_id, r.value);
    } catch (e) {
      state.listener = null; state.token = null;
      localStorage.removeItem("divertimento.listener"); localStorage.removeItem("divertimento.listener.token");
      $("listener-stats").textContent = "no ratings yet";
    }
  }

  function markRating(pid, value) {
    document.querySelectorAll(`#cards .card[data-id="${pid}"]`).forEach((el) => {
      el.querySelector(".like").classList.toggle("on", value > 0);
      el.querySelector(".dislike").classList.toggle("on", value < 0);
    });
  }

  async function rate(p, value, status) {
    try {
      const lid = await ensureListener();
      const r = await api("/api/ratings", { listener_id: lid, piece_id: p.id, value });
      markRating(p.id, value);
      $("listener-stats").textContent = `${r.likes} liked · ${r.dislikes} disliked`;
      say(status, value > 0 ? "Liked." : value < 0 ? "Disliked." : "Rating removed.");
    } catch (e) { say(status, `Rating failed: ${e.message}`, true); }
  }

  // ---- set-up ----

  function fillStyles(select, names, anyLabel) {
    select.innerHTML = "";
    if (anyLabel) { const o = document.createElement("option"); o.value = ""; o.textContent = anyLabel; select.appendChild(o); }
    for (const n of names) { const o = document.createElement("option"); o.value = n; o.textContent = n; select.appendChild(o); }
  }

  async function init() {
    try {
      state.info = await api("/api/info");
    } catch (e) { say($("generate-status"), `Server not answering: ${e.message}`, true); return; }
    const names = state.info.styles;
    fillStyles($("style"), names, "any (by the data's shares)");
    fillStyles($("meter"), state.info.meters || [], "the style's (by its shares)");
    const harmony = state.info.harmony_styles || names;  // styles with accompanying voices
    fillStyles($("harm-style"), harmony, null);
    if (!harmony.length) {  // a band or piano model, or one trained on melodies alone: say so where the tool is
      $("harmonise-btn").disabled = true;
      say($("harmonise-status"), `This model (${state.info.layout || "its layout"}) cannot harmonise: that needs ` +
        "a four-voice model trained on music with accompanying voices.");
    }
    if (harmony.includes("bach")) $("harm-style").value = "bach";
    fillStyles($("stream-style"), names, "any");
    $("model-info").textContent = `model ${state.info.model} (step ${state.info.model_step}) · ` +
      `originality: ${state.info.originality}`;
    state.listener = localStorage.getItem("divertimento.listener");
    state.token = localStorage.getItem("divertimento.listener.token");
    $("listener-name").value = localStorage.getItem("divertimento.listener.name") || "";
    await refreshListener();
    await library.load();
  }

  document.addEventListener("DOMContentLoaded", () => {
    library = window.StudioLibrary({ api, state, card, run, say, button, ensureListener });
    window.StudioStream(synth, state);
    $("generate-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      run(() => api("/api/generate", generateBody()), { doing: "generating", status: $("generate-status"),
                                                          button: $("generate-btn") });
    });
    $("foryou-btn").addEventListener("click", async () => {
      const lid = await ensureListener().catch((e) => say($("generate-status"), e.message, true));
      if (lid) run(() => api("/api/for-you", { listener_id: lid, n: +$("n").value || 4 }),
                   { doing: "choosing for you", status: $("generate-status"), button: $("foryou-btn") });
    });
    $("harmonise-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const f = $("melody-file").files[0], box = $("harmonise-status");
      if (!f) { say(box, "Choose a melody file (MIDI, MusicXML or ABC) first.", true); return; }
      if (f.size > state.info.max_upload_bytes) { say(box, "That file is too large.", true); return; }
      const fd = new FormData();
      fd.append("file", f); fd.append("style", $("harm-style").value);
      run(() => api("/api/harmonise", fd), { doing: `harmonising ${f.name}`, status: box, button: $("harmonise-btn") });
    });
    $("morph-btn").addEventListener("click", () => {
      const [a, b] = state.picked;
      run(() => api("/api/interpolate", { a, b, steps: 5 }), { doing: "morphing", status: $("tools-status"),
                                                                 button: $("morph-btn") });
    });
    $("distance").addEventListener("input", () => ($("distance-out").textContent = (+$("distance").value).toFixed(2)));
    $("listener-name").addEventListener("change", () =>
      localStorage.setItem("divertimento.listener.name", $("listener-name").value.trim()));
    $("tab-session").addEventListener("click", () => showTab("session"));
    $("tab-library").addEventListener("click", () => showTab("library"));
    init();
  });
})();
