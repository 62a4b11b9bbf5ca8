// The live-stream panel: a WebSocket of bars, each scheduled on the synth's clock as it arrives, the last bars
// drawn on a dark roll, and style, intensity and tempo sent to the server while it plays.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);

  window.StudioStream = function setUp(synth, state) {
    function url() {
      const q = new URLSearchParams({ intensity: $("intensity").value, tempo: $("tempo").value });
      if ($("stream-style").value) q.set("style", $("stream-style").value);
      return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/stream?${q}`;
    }

    function start() {
      const ws = new WebSocket(url());
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
      ws.onclose = () => { if (state.stream === s) stop(); };
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
      window.StudioRoll.drawNotes($("stream-roll"), notes, Math.max(at, 16 * 8),
                                  { bg: "#111826", grid: "#2a3550", bar: m.steps_per_bar, drums: s.drums });
      const mean = s.gen.reduce((a, b) => a + b, 0) / s.gen.length;
      $("stream-stats").textContent = `bar ${m.index + 1} · ${m.style} · ${Math.round(m.tempo)} qpm · ` +
        `made in ${Math.round(m.gen_ms)} ms (mean ${Math.round(mean)}) for a bar of ${Math.round(m.bar_ms)} ms`;
    }

    function stop() {
      const s = state.stream;
      state.stream = null;
      if (s && s.ws.readyState <= 1) { try { s.ws.send(JSON.stringify({ type: "stop" })); } catch (e) {} s.ws.close(); }
      synth.stopAll();
      $("stream-btn").textContent = "Start stream";
      $("stream-stats").textContent = `stopped after ${state.streamBars} bar(s)`;
    }

    function send(patch) {
      const s = state.stream;
      if (s && s.ws.readyState === 1) s.ws.send(JSON.stringify(Object.assign({ type: "set" }, patch)));
    }

    $("intensity").addEventListener("input", () => {
      $("intensity-out").textContent = (+$("intensity").value).toFixed(2);
      send({ intensity: +$("intensity").value });
    });
    $("tempo").addEventListener("input", () => {
      $("tempo-out").textContent = $("tempo").value;
      send({ tempo: +$("tempo").value });
    });
    $("stream-style").addEventListener("change", () => {
      if ($("stream-style").value) send({ style: $("stream-style").value });
    });
    $("stream-btn").addEventListener("click", () => {
      synth.ensure(); // audio starts from this click
      state.stream ? stop() : start();
    });
    return { stop };
  };
})();
