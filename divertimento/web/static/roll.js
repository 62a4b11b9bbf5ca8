// Piano-rolls: drawNotes paints notes on a canvas (the live stream's roll uses it alone); PianoRoll is a piece's
// roll on its card, with a pitch axis named at the C's, bar numbers, a colour per voice with a legend, zoom
// (buttons and ctrl+wheel), a playhead, and a click on a bar to hear it.
"use strict";
(function () {
  const COLOURS = ["#d1495b", "#e09f3e", "#00798c", "#30638e", "#6a4c93", "#2e7d32", "#8d6e63", "#c2185b"];
  const NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];
  const DRUM_ROWS = ["kick", "snare", "hat", "other"];  // bottom to top, as music/lanes.py groups drum keys
  const TOP = 16;  // px of the bar-number strip above the notes
  const ZOOMS = [1, 1.5, 2, 3, 4, 6, 8];
  const MAX_CANVAS_PX = 16000;  // a canvas wider than this (in device pixels) is refused by some browsers

  function colour(v) { return COLOURS[v % COLOURS.length]; }
  function noteName(p) { return NAMES[p % 12] + (Math.floor(p / 12) - 1); }  // MIDI 60 = C4

  // GM drum key -> row under the pitched notes: kick, snare, hi-hat, everything else
  function drumRow(key) {
    if (key === 35 || key === 36) return 0;
    if (key >= 37 && key <= 40) return 1;
    if (key === 42 || key === 44 || key === 46) return 2;
    return 3;
  }

  // Where things go on a roll of height h: pitch range, the y of a pitch, the drum strip. opts.top: px above the
  // notes (bar numbers); opts.drums[v]: voice v is a drum kit.
  function geometry(notes, h, opts) {
    const isDrum = (v) => !!(opts.drums && opts.drums[v]);
    const hasDrums = notes.some((n) => isDrum(n[0]));
    const top = opts.top || 0;
    const drumH = hasDrums ? Math.min(48, (h - top) * 0.3) : 0;
    const ph = h - top - drumH;  // the pitched area
    let lo = 127, hi = 0;
    for (const n of notes) if (!isDrum(n[0])) { lo = Math.min(lo, n[3]); hi = Math.max(hi, n[3]); }
    if (lo > hi) { lo = 60; hi = 72; }
    lo -= 2; hi += 2;
    const rows = hi - lo + 1;
    return { isDrum, hasDrums, top, drumH, ph, lo, hi,
             y: (p) => top + ph - ((p - lo + 1) / rows) * ph, rowH: Math.max(2, ph / rows - 1) };
  }

  function prepare(canvas, w, h, bg) {
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = bg; g.fillRect(0, 0, w, h);
    return g;
  }

  // notes: [[voice, step, length, pitch], ...]; opts: bar (steps per bar), drums, bg, grid, top, barNumbers,
  // cLines (a line at every C)
  function drawNotes(canvas, notes, nSteps, opts) {
    opts = opts || {};
    const w = canvas.clientWidth || canvas.width, h = canvas.clientHeight || canvas.height;
    const g = prepare(canvas, w, h, opts.bg || "#fbfbfd");
    const geo = geometry(notes, h, opts);
    const x = (s) => (s / nSteps) * w;
    const bar = opts.bar || 16;
    g.lineWidth = 1;
    if (opts.cLines) {
      g.strokeStyle = "#e8e8f2";
      for (let p = geo.lo; p <= geo.hi; p++) if (p % 12 === 0) {
        const yy = Math.round(geo.y(p) + geo.rowH) + .5;
        g.beginPath(); g.moveTo(0, yy); g.lineTo(w, yy); g.stroke();
      }
    }
    g.strokeStyle = opts.grid || "#dde";
    const barW = x(bar);
    const every = Math.max(1, Math.ceil(22 / Math.max(barW, 1)));  // label every k-th bar so numbers never collide
    g.font = "10px system-ui, sans-serif"; g.textBaseline = "top";
    for (let s = 0, b = 0; s <= nSteps; s += bar, b++) {
      g.beginPath(); g.moveTo(Math.round(x(s)) + .5, geo.top); g.lineTo(Math.round(x(s)) + .5, h); g.stroke();
      if (opts.barNumbers && s < nSteps && b % every === 0) {
        g.fillStyle = "#778"; g.fillText(String(b + 1), x(s) + 3, 3);
      }
    }
    if (geo.hasDrums) { g.beginPath(); g.moveTo(0, h - geo.drumH + .5); g.lineTo(w, h - geo.drumH + .5); g.stroke(); }
    for (const [v, s, d, p] of notes) {
      g.fillStyle = colour(v);
      if (geo.isDrum(v)) {  // kick lowest
        const r = geo.drumH / 4;
        g.fillRect(x(s) + 1, h - geo.drumH + (3 - drumRow(p)) * r + r * 0.2, Math.max(2, x(s + 1) - x(s) - 1), r * 0.6);
        continue;
      }
      const yy = geo.y(p);
      g.fillRect(x(s) + 1, yy, Math.max(2, x(s + d) - x(s) - 1.5), geo.rowH);
      g.fillStyle = "rgba(0,0,0,.55)";  // a dark onset edge: a repeated note reads as two notes, a held one as one
      g.fillRect(x(s) + 1, yy, 1.2, geo.rowH);
    }
    return geo;
  }

  // the pitch axis beside a roll: note names at the C's (and the drum rows' names)
  function drawAxis(canvas, geo) {
    const w = canvas.clientWidth, h = canvas.clientHeight;
    const g = prepare(canvas, w, h, "#f1f2f8");
    g.font = "10px system-ui, sans-serif"; g.fillStyle = "#445"; g.textAlign = "right"; g.textBaseline = "middle";
    const labels = [];
    for (let p = geo.lo; p <= geo.hi; p++) if (p % 12 === 0) {
      labels.push(noteName(p));
      // kept inside the pitched area, so a C at its very edge is still read in full
      const yy = Math.min(Math.max(geo.y(p) + geo.rowH / 2, geo.top + 6), h - geo.drumH - 6);
      g.fillText(noteName(p), w - 4, yy);
    }
    if (geo.hasDrums) {
      const r = geo.drumH / 4;
      g.font = "9px system-ui, sans-serif";
      DRUM_ROWS.forEach((name, i) => g.fillText(name, w - 4, h - geo.drumH + (3 - i) * r + r / 2));
    }
    return labels;
  }

  class PianoRoll {
    // piece: {notes, bars, steps_per_bar, drums, voices}; onBar(bar index): a click on that bar
    constructor(piece, onBar) {
      this.piece = piece; this.onBar = onBar;
      this.nSteps = piece.bars * piece.steps_per_bar;
      this.zoom = 1; this.step = null;
      const el = this.el = document.createElement("div");
      el.className = "roll-box";
      el.innerHTML = '<div class="roll-view"><canvas class="roll-axis" aria-hidden="true"></canvas>' +
        '<div class="roll-scroll"><div class="roll-inner"><canvas class="roll" role="img"></canvas>' +
        '<div class="playhead" hidden></div></div></div></div>' +
        '<div class="roll-tools"><div class="legend"></div><div class="zoom">' +
        '<button type="button" class="small zoom-out" title="zoom out" aria-label="zoom out">−</button>' +
        '<span class="zoom-level">1×</span>' +
        '<button type="button" class="small zoom-in" title="zoom in (or ctrl + wheel on the roll)" aria-label="zoom in">+</button>' +
        "</div></div>";
      this.axis = el.querySelector(".roll-axis");
      this.canvas = el.querySelector(".roll");
      this.scroll = el.querySelector(".roll-scroll");
      this.inner = el.querySelector(".roll-inner");
      this.head = el.querySelector(".playhead");
      this.canvas.setAttribute("aria-label", `piano-roll of ${piece.bars} bars; click a bar to hear it`);
      this.canvas.title = "click a bar to hear it";
      this.legend(el.querySelector(".legend"));
      el.querySelector(".zoom-in").addEventListener("click", () => this.setZoom(+1));
      el.querySelector(".zoom-out").addEventListener("click", () => this.setZoom(-1));
      this.scroll.addEventListener("wheel", (ev) => {
        if (!ev.ctrlKey) return;  // a plain wheel scrolls the page; ctrl + wheel zooms, as in maps and DAWs
        ev.preventDefault();
        this.setZoom(ev.deltaY < 0 ? +1 : -1);
      }, { passive: false });
      this.canvas.addEventListener("click", (ev) => {
        const r = this.canvas.getBoundingClientRect();
        const bar = Math.floor(((ev.clientX - r.left) / r.width) * this.nSteps / piece.steps_per_bar);
        if (this.onBar && bar >= 0 && bar < piece.bars) this.onBar(bar);
      });
      let lastW = 0;  // redrawn when the card's width changes (a phone turned, a window resized)
      new ResizeObserver(() => {
        if (this.scroll.clientWidth && this.scroll.clientWidth !== lastW) { lastW = this.scroll.clientWidth; this.draw(); }
      }).observe(this.scroll);
    }

    legend(box) {
      const used = [...new Set(this.piece.notes.map((n) => n[0]))].sort((a, b) => a - b);
      for (const v of used) {
        const item = document.createElement("span");
        item.className = "voice";
        const sw = document.createElement("i"); sw.style.background = colour(v);
        item.appendChild(sw);
        item.appendChild(document.createTextNode((this.piece.voices && this.piece.voices[v]) || `voice ${v + 1}`));
        box.appendChild(item);
      }
    }

    maxZoom() {
      const w = this.scroll.clientWidth || 300;
      return MAX_CANVAS_PX / (w * (window.devicePixelRatio || 1));
    }

    setZoom(dir) {
      const i = ZOOMS.indexOf(this.zoom) + dir;
      if (i < 0 || i >= ZOOMS.length || ZOOMS[i] > this.maxZoom()) return;
      this.zoom = ZOOMS[i];
      this.el.querySelector(".zoom-level").textContent = `${this.zoom}×`;
      this.draw();
    }

    draw() {
      this.inner.style.width = `${this.zoom * 100}%`;
      const p = this.piece;
      const geo = drawNotes(this.canvas, p.notes, this.nSteps, { bar: p.steps_per_bar, drums: p.drums,
                                                                  top: TOP, barNumbers: true, cLines: true });
      this.axisLabels = drawAxis(this.axis, geo);
      this.canvas.dataset.axis = this.axisLabels.join(" ");  // what the axis says, for tests and assistive tech
      this.setPlayhead(this.step);
    }

    // step: where the music is (steps from the piece's start), or null to hide the playhead
    setPlayhead(step) {
      this.step = step;
      if (step === null) { this.head.hidden = true; return; }
      const px = (step / this.nSteps) * this.canvas.clientWidth;
      this.head.hidden = false;
      this.head.style.transform = `translateX(${px}px)`;
      this.head.dataset.step = step.toFixed(2);
      const s = this.scroll;  // zoomed in: keep the playhead in sight
      if (px < s.scrollLeft || px > s.scrollLeft + s.clientWidth - 16) s.scrollLeft = Math.max(0, px - 24);
    }
  }

  window.StudioRoll = { drawNotes, PianoRoll, colour, noteName };
})();
