// A small WebAudio synth: one oscillator and envelope per note, a timbre per voice. No samples, no network.
"use strict";
(function () {
  const WAVES = ["triangle", "sine", "sine", "triangle", "square"];
  const GAINS = [0.55, 0.35, 0.35, 0.5, 0.15];

  class Synth {
    constructor() { this.ctx = null; this.master = null; this.noise = null; this.count = 0; }

    ensure() {
      if (!this.ctx) {
        const AC = window.AudioContext || window.webkitAudioContext;
        this.ctx = new AC();
      }
      if (this.ctx.state === "suspended") this.ctx.resume();
      if (!this.master) {
        this.master = this.ctx.createGain();
        this.master.gain.value = 0.22;
        const lp = this.ctx.createBiquadFilter();
        lp.type = "lowpass";
        lp.frequency.value = 3200;
        this.master.connect(lp);
        lp.connect(this.ctx.destination);
      }
      return this.ctx;
    }

    now() { return this.ensure().currentTime; }

    // voice index, MIDI pitch, start time (s, AudioContext clock), duration (s)
    note(voice, pitch, t0, dur) {
      const ctx = this.ensure();
      const osc = ctx.createOscillator();
      const g = ctx.createGain();
      osc.type = WAVES[voice % WAVES.length];
      osc.frequency.value = 440 * Math.pow(2, (pitch - 69) / 12);
      const peak = GAINS[voice % GAINS.length];
      const attack = 0.012;
      g.gain.setValueAtTime(0, t0);
      g.gain.linearRampToValueAtTime(peak, t0 + attack);
      g.gain.exponentialRampToValueAtTime(peak * 0.45, t0 + Math.max(attack + 0.02, dur * 0.7));
      g.gain.linearRampToValueAtTime(0, t0 + dur + 0.06);
      osc.connect(g);
      g.connect(this.master);
      osc.start(t0);
      osc.stop(t0 + dur + 0.1);
      this.count += 1;
    }

    // a drum hit for General MIDI drum key `key`: a pitch-dropping thump for kicks and toms, filtered noise for
    // snares, hats and cymbals
    hit(key, t0) {
      const ctx = this.ensure();
      const g = ctx.createGain();
      const kick = key === 35 || key === 36, tom = [41, 43, 45, 47, 48, 50].includes(key);
      if (kick || tom) {
        const osc = ctx.createOscillator();
        const f = kick ? 110 : 90 + (key - 41) * 18;
        osc.frequency.setValueAtTime(f, t0);
        osc.frequency.exponentialRampToValueAtTime(f * 0.45, t0 + 0.12);
        g.gain.setValueAtTime(0.9, t0);
        g.gain.exponentialRampToValueAtTime(0.001, t0 + 0.2);
        osc.connect(g);
        osc.start(t0);
        osc.stop(t0 + 0.22);
      } else {
        if (!this.noise) {
          this.noise = ctx.createBuffer(1, ctx.sampleRate * 0.5, ctx.sampleRate);
          const d = this.noise.getChannelData(0);
          for (let i = 0; i < d.length; i++) d[i] = Math.random() * 2 - 1;
        }
        const src = ctx.createBufferSource();
        src.buffer = this.noise;
        const filt = ctx.createBiquadFilter();
        const snare = key >= 37 && key <= 40;
        filt.type = snare ? "bandpass" : "highpass";
        filt.frequency.value = snare ? 1800 : 7000;
        const len = snare ? 0.16 : (key === 46 || key >= 49 ? 0.35 : 0.05);
        g.gain.setValueAtTime(snare ? 0.7 : 0.35, t0);
        g.gain.exponentialRampToValueAtTime(0.001, t0 + len);
        src.connect(filt);
        filt.connect(g);
        src.start(t0);
        src.stop(t0 + len + 0.02);
      }
      g.connect(this.master);
      this.count += 1;
    }

    // notes: [[voice, step, length, pitch], ...]; drums[voice] true: a drum voice, played as hits.
    // Returns the length in seconds
    playNotes(notes, stepSeconds, at, drums) {
      const t = at === undefined ? this.now() + 0.08 : at;
      let end = 0;
      for (const [v, s, d, p] of notes) {
        if (drums && drums[v]) this.hit(p, t + s * stepSeconds);
        else this.note(v, p, t + s * stepSeconds, d * stepSeconds);
        end = Math.max(end, (s + d) * stepSeconds);
      }
      return end;
    }

    stopAll() {
      if (this.master) { this.master.disconnect(); this.master = null; }
    }
  }

  window.StudioSynth = Synth;
})();
