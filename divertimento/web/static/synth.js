// A small WebAudio synth: one oscillator and envelope per note, a timbre per voice. No samples, no network.
"use strict";
(function () {
  const WAVES = ["triangle", "sine", "sine", "triangle", "square"];
  const GAINS = [0.55, 0.35, 0.35, 0.5, 0.15];

  class Synth {
    constructor() { this.ctx = null; this.master = null; this.count = 0; }

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

    // notes: [[voice, step, length, pitch], ...]; returns the length in seconds
    playNotes(notes, stepSeconds, at) {
      const t = at === undefined ? this.now() + 0.08 : at;
      let end = 0;
      for (const [v, s, d, p] of notes) {
        this.note(v, p, t + s * stepSeconds, d * stepSeconds);
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
