// The studio page: talks to the JSON API of the server that served it, and to nothing else.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const COLOURS = ["#d1495b", "#edae49", "#00798c", "#30638e", "#6a4c93"];
  const synth = new window.StudioSynth();
  const state = { info: null, listener: null, token: null, picked: [], playing: null, stream: null,
                  streamBars: 0, lastBar: null, scheduled: 0, pieces: {} };
  window.studioState = state; // for tests and the curious

  function setStatus(text, error) {
    const el = $("status");
    el.textContent = text;
    el.classList.toggle("error", !!error);
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
      throw new Error(detail || `${res.status} ${res.statusText}`);
    }
    return data;
  }

  // ---- piano-roll drawing ----

  // GM drum key -> row under the pitched notes: kick, snare, hi-hat, everything else (as music/lanes.py groups them)
  function drumRow(key) {
    if (key === 35 || key === 36) return 0;
    if (key >= 37 && key <= 40) return 1;
    if (key === 42 || key === 44 || key === 46) return 2;
    return 3;
  }

  // notes: [[voice, step, length, pitch], ...]; opts.drums[voice] true: a drum voice, drawn as hits in rows
  // of their own under the pitched notes
  function drawRoll(canvas, notes, nSteps, opts) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || canvas.width, h = canvas.clientHeight || canvas.height;
    canvas.width = w * dpr; canvas.height = h * dpr;
    const g = canvas.getContext("2d");
    g.scale(dpr, dpr);
    g.fillStyle = (opts && opts.bg) || "#fbfbfd";
    g.fillRect(0, 0, w, h);
    if (!notes.length) return;
    const isDrum = (v) => !!(opts && opts.drums && opts.drums[v]);
    const drums = notes.some((n) => isDrum(n[0]));
    const drumH = drums ? Math.min(40, h * 0.25) : 0;  // the strip of drum rows at the bottom
    const ph = h - drumH;
    let lo = 127, hi = 0;
    for (const n of notes) if (!isDrum(n[0])) { lo = Math.min(lo, n[3]); hi = Math.max(hi, n[3]); }
    if (lo > hi) { lo = 60; hi = 72; }
    lo -= 2; hi += 2;
    const x = (s) => (s / nSteps) * w, y = (p) => ph - ((p - lo + 1) / (hi - lo + 1)) * ph;
    const rowH = Math.max(2, ph / (hi - lo + 1) - 1);
    g.strokeStyle = (opts && opts.grid) || "#dde";
    const bar = (opts && opts.bar) || 16;
    for (let s = 0; s <= nSteps; s += bar) { g.beginPath(); g.moveTo(x(s) + .5, 0); g.lineTo(x(s) + .5, h); g.stroke(); }
    if (drums) { g.beginPath(); g.moveTo(0, ph + .5); g.lineTo(w, ph + .5); g.stroke(); }
    for (const [v, s, d, p] of notes) {
      g.fillStyle = COLOURS[v % COLOURS.length];
      if (isDrum(v)) {  // kick lowest
        const r = drumH / 4;
        g.fillRect(x(s) + 1, ph + (3 - drumRow(p)) * r + r * 0.2, Math.max(2, x(s + 1) - x(s) - 1), r * 0.6);
        continue;
      }
      g.fillRect(x(s) + 1, y(p), Math.max(2, x(s + d) - x(s) - 1.5), rowH);
      g.fillStyle = "rgba(0,0,0,.55)";
      g.fillRect(x(s) + 1, y(p), 1.2, rowH);
    }
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

  function stepSeconds(p) { return 60 / p.tempo / 4; }

  function togglePlay(p, btn) {
    if (state.playing && state.playing.id === p.id) { stopPlaying(); return; }
    stopPlaying();
    const secs = synth.playNotes(p.notes, stepSeconds(p), undefined, p.drums);
    state.scheduled += p.notes.length;
    btn.textContent = "■ Stop"; btn.classList.add("on");
    const timer = setTimeout(stopPlaying, (secs + 0.3) * 1000);
    state.playing = { id: p.id, btn, timer };
  }

  function stopPlaying() {
    if (!state.playing) return;
    synth.stopAll();
    clearTimeout(state.playing.timer);
    state.playing.btn.textContent = "▶ Play"; state.playing.btn.classList.remove("on");
    state.playing = null;
  }

  function card(p) {
    state.pieces[p.id] = p;
    const el = document.createElement("article");
    el.className = "card"; el.dataset.id = p.id;
    const h = document.createElement("h3");
    const t = document.createElement("span"); t.textContent = p.title; h.appendChild(t);
    h.appendChild(originalityBadge(p.originality));
    el.appendChild(h);
    const meta = document.createElement("div"); meta.className = "muted";
    meta.textContent = `${p.style} · ${p.meter} · ${p.kind} · ${p.bars} bars · ${p.notes.length} notes · ` +
      `${Math.round(p.tempo)} qpm`;
    el.appendChild(meta);
    const c = document.createElement("canvas"); c.className = "roll"; el.appendChild(c);
    requestAnimationFrame(() => drawRoll(c, p.notes, p.bars * p.steps_per_bar,
                                         { bar: p.steps_per_bar, drums: p.drums }));
    const row = document.createElement("div"); row.className = "row";
    const play = button("▶ Play", "small play", () => togglePlay(p, play));
    row.appendChild(play);
    for (const [fmt, label] of [["mid", "MIDI"], ["musicxml", "MusicXML"], ["ogg", "OGG"]]) {
      const a = document.createElement("a");
      a.href = p.files[fmt]; a.textContent = label; a.setAttribute("download", ""); a.className = `dl-${fmt}`;
      row.appendChild(a);
    }
    const like = button("Like", "small like", () => rate(p, like.classList.contains("on") ? 0 : 1, like, dislike));
    const dislike = button("Dislike", "small dislike", () => rate(p, dislike.classList.contains("on") ? 0 : -1, like, dislike));
    like.title = "like"; dislike.title = "dislike";
    row.appendChild(like); row.appendChild(dislike);
    row.appendChild(button("Variations", "small vary", () => vary(p)));
    row.appendChild(button("+4 bars", "small continue", () => run(() => api("/api/continue", { piece_id: p.id, bars: 4 }), "continuing")));
    const pick = document.createElement("label"); pick.className = "check muted";
    const box = document.createElement("input"); box.type = "checkbox"; box.className = "pick";
    box.addEventListener("change", () => {
      state.picked = state.picked.filter((x) => x !== p.id);
      if (box.checked) state.picked.push(p.id);
      $("morph-btn").disabled = state.picked.length !== 2;
    });
    pick.appendChild(box); pick.appendChild(document.createTextNode("morph"));
    row.appendChild(pick);
    el.appendChild(row);
    const audio = document.createElement("audio");
    audio.controls = true; audio.preload = "none"; audio.src = p.files.ogg;
    audio.title = "rendered on the server with FluidSynth";
    el.appendChild(audio);
    return el;
  }

  function show(pieces, note) {
    const cards = $("cards");
    for (const p of pieces.slice().reverse()) cards.prepend(card(p));
    setStatus(note || `${pieces.length} piece(s).`);
  }

  async function run(fn, doing) {
    setStatus(`${doing}…`);
    const buttons = document.querySelectorAll("button:not(#stream-btn)");
    buttons.forEach((b) => (b.dataset.busy = "1"));
    try {
      const t0 = performance.now();
      const data = await fn();
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      let note = `${data.pieces.length} piece(s) in ${secs} s`;
      if (data.near_copies_replaced) note += `; ${data.near_copies_replaced} near-copies replaced`;
      if (data.ratings_used !== undefined) note += `; steered by ${data.ratings_used} rating(s)`;
      if (data.seed !== undefined) note += `; seed ${data.seed}`;
      show(data.pieces, note + ".");
      return data;
    } catch (e) {
      setStatus(`Could not finish ${doing}: ${e.message}`, true);
    } finally {
      buttons.forEach((b) => delete b.dataset.busy);
    }
  }

  // ---- actions ----

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
    const el = document.querySelector(`.card[data-id="${pid}"]`);
    if (!el) return;
    el.querySelector(".like").classList.toggle("on", value > 0);
    el.querySelector(".dislike").classList.toggle("on", value < 0);
  }

  async function rate(p, value) {
    try {
      const lid = await ensureListener();
      const r = await api("/api/ratings", { listener_id: lid, piece_id: p.id, value });
      markRating(p.id, value);
      $("listener-stats").textContent = `${r.likes} liked · ${r.dislikes} disliked`;
    } catch (e) { setStatus(`Rating failed: ${e.message}`, true); }
  }

  function vary(p) {
    const distance = +$("distance").value;
    run(() => api("/api/variations", { piece_id: p.id, n: 3, distance }), `making variations at distance ${distance}`);
  }

  // ---- live stream ----

  function streamUrl() {
    const q = new URLSearchParams({ intensity: $("intensity").value, tempo: $("tempo").value });
    if ($("stream-style").value) q.set("style", $("stream-style").value);
    return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/stream?${q}`;
  }

  function startStream() {
    const ws = new WebSocket(streamUrl());
    const s = { ws, next: null, recent: [], gen: [] };
    state.stream = s;
    $("stream-btn").textContent = "Stop stream";
    $("stream-stats").textContent = "connecting…";
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === "hello") s.drums = m.drums;
      else if (m.type === "bar") onBar(s, m);
      else if (m.type === "error") $("stream-stats").textContent = `stream: ${m.detail}`;
    };
    ws.onclose = () => { if (state.stream === s) stopStream(); };
  }

  function onBar(s, m) {
    const step = 60 / m.tempo / 4;
    const now = synth.now();
    if (s.next === null || s.next < now) s.next = now + 0.15;
    synth.playNotes(m.notes, step, s.next, s.drums);
    state.scheduled += m.notes.length;
    s.next += m.steps_per_bar * step;
    state.streamBars += 1; state.lastBar = m;
    s.recent.push(m); if (s.recent.length > 8) s.recent.shift();
    s.gen.push(m.gen_ms); if (s.gen.length > 50) s.gen.shift();
    const notes = [];
    let at = 0;
    s.recent.forEach((b) => { for (const [v, st, d, p] of b.notes) notes.push([v, st + at, d, p]); at += b.steps_per_bar; });
    drawRoll($("stream-roll"), notes, Math.max(at, 16 * 8),
             { bg: "#111826", grid: "#2a3550", bar: m.steps_per_bar, drums: s.drums });
    const mean = s.gen.reduce((a, b) => a + b, 0) / s.gen.length;
    $("stream-stats").textContent = `bar ${m.index + 1} · ${m.style} · ${Math.round(m.tempo)} qpm · ` +
      `made in ${Math.round(m.gen_ms)} ms (mean ${Math.round(mean)}) for a bar of ${Math.round(m.bar_ms)} ms`;
  }

  function stopStream() {
    const s = state.stream;
    state.stream = null;
    if (s && s.ws.readyState <= 1) { try { s.ws.send(JSON.stringify({ type: "stop" })); } catch (e) {} s.ws.close(); }
    synth.stopAll();
    $("stream-btn").textContent = "Start stream";
    $("stream-stats").textContent = `stopped after ${state.streamBars} bar(s)`;
  }

  function sendSettings(patch) {
    const s = state.stream;
    if (s && s.ws.readyState === 1) s.ws.send(JSON.stringify(Object.assign({ type: "set" }, patch)));
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
    } catch (e) { setStatus(`Server not answering: ${e.message}`, true); return; }
    const names = state.info.styles;
    fillStyles($("style"), names, "any (by the data's shares)");
    fillStyles($("meter"), state.info.meters || [], "the style's (by its shares)");
    const harmony = state.info.harmony_styles || names;  // styles with accompanying voices
    fillStyles($("harm-style"), harmony, null);
    if (!harmony.length) {  // a band or piano model, or one trained on melodies alone: say so where the tool is
      $("harmonise-btn").disabled = true;
      const why = document.createElement("p");
      why.className = "hint";
      why.textContent = `This model (${state.info.layout || "its layout"}) cannot harmonise: that needs a ` +
        "four-voice model trained on music with accompanying voices.";
      $("harmonise-form").appendChild(why);
    }
    if (harmony.includes("bach")) $("harm-style").value = "bach";
    fillStyles($("stream-style"), names, "any");
    $("model-info").textContent = `model ${state.info.model} (step ${state.info.model_step}) · ` +
      `originality: ${state.info.originality}`;
    state.listener = localStorage.getItem("divertimento.listener");
    state.token = localStorage.getItem("divertimento.listener.token");
    $("listener-name").value = localStorage.getItem("divertimento.listener.name") || "";
    refreshListener();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("generate-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      run(() => api("/api/generate", generateBody()), "generating");
    });
    $("foryou-btn").addEventListener("click", async () => {
      const lid = await ensureListener().catch((e) => setStatus(e.message, true));
      if (lid) run(() => api("/api/for-you", { listener_id: lid, n: +$("n").value || 4 }), "choosing for you");
    });
    $("harmonise-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const f = $("melody-file").files[0];
      if (!f) { setStatus("Choose a melody file (MIDI, MusicXML or ABC) first.", true); return; }
      if (f.size > state.info.max_upload_bytes) { setStatus("That file is too large.", true); return; }
      const fd = new FormData();
      fd.append("file", f); fd.append("style", $("harm-style").value);
      run(() => api("/api/harmonise", fd), `harmonising ${f.name}`);
    });
    $("morph-btn").addEventListener("click", () => {
      const [a, b] = state.picked;
      run(() => api("/api/interpolate", { a, b, steps: 5 }), "morphing");
    });
    $("distance").addEventListener("input", () => ($("distance-out").textContent = (+$("distance").value).toFixed(2)));
    $("intensity").addEventListener("input", () => {
      $("intensity-out").textContent = (+$("intensity").value).toFixed(2);
      sendSettings({ intensity: +$("intensity").value });
    });
    $("tempo").addEventListener("input", () => {
      $("tempo-out").textContent = $("tempo").value;
      sendSettings({ tempo: +$("tempo").value });
    });
    $("stream-style").addEventListener("change", () => {
      if ($("stream-style").value) sendSettings({ style: $("stream-style").value });
    });
    $("stream-btn").addEventListener("click", () => {
      synth.ensure(); // audio starts from this click
      state.stream ? stopStream() : startStream();
    });
    $("listener-name").addEventListener("change", () =>
      localStorage.setItem("divertimento.listener.name", $("listener-name").value.trim()));
    init();
  });
})();
