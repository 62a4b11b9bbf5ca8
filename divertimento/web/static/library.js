// The listener's library tab: kept pieces from the server (so they are there after a reload), each with a name
// and tags to edit, its recipe, "Draw again" and "Delete". `page` is what app.js lends: api, card, run, say,
// ensureListener and the shared state.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);

  window.StudioLibrary = function setUp(page) {
    const { api, state } = page;
    const byPiece = {};  // piece id -> entry, so a session card knows it is kept

    const base = () => `/api/listeners/${state.listener}/library`;

    function count() {
      $("library-count").textContent = String(Object.keys(byPiece).length);
      $("library-empty").hidden = Object.keys(byPiece).length > 0;
    }

    function markKept(pid) {
      document.querySelectorAll(`#cards .card[data-id="${pid}"] .keep`).forEach((b) => {
        const kept = !!byPiece[pid];
        b.classList.toggle("on", kept);
        b.textContent = kept ? "★ Kept" : "☆ Keep";
      });
    }

    function recipeText(e) {
      const s = e.settings;
      if (!s) return `kept note for note (a ${e.piece.kind} piece has no recipe)`;
      const bits = [`${s.tool}`, `seed ${s.seed}`];
      if (s.tool === "generate") bits.push(s.style || "any style", s.meter || "its meter", `${s.bars} bars`);
      if (s.form) bits.push(`form ${s.form}`);
      if (s.temperature) bits.push(`temperature ${(+s.temperature).toFixed(2)}`);
      return bits.join(" · ") + ` · model ${e.model}`;
    }

    function entryCard(e) {
      const el = page.card(e.piece, { entry: e });
      el.classList.add("entry"); el.dataset.entry = e.id;
      const status = el.querySelector(".card-status");
      const name = document.createElement("input");
      name.className = "entry-name"; name.value = e.name; name.maxLength = 120; name.setAttribute("aria-label", "name");
      const tags = document.createElement("input");
      tags.className = "entry-tags"; tags.value = e.tags.join(", "); tags.placeholder = "tags, comma separated";
      tags.setAttribute("aria-label", "tags");
      const save = async (patch) => {
        try {
          const got = await api(`${base()}/${e.id}`, patch, { method: "PATCH" });
          Object.assign(e, got); byPiece[e.piece_id] = e;
          page.say(status, "saved");
        } catch (err) { page.say(status, `Not saved: ${err.message}`, true); }
      };
      name.addEventListener("change", () => save({ name: name.value.trim() }));
      tags.addEventListener("change", () =>
        save({ tags: tags.value.split(",").map((t) => t.trim()).filter((t) => t) }));
      const head = el.querySelector("h3 span");
      head.replaceWith(name);
      const recipe = document.createElement("div");
      recipe.className = "muted recipe"; recipe.textContent = recipeText(e);
      el.querySelector(".meta").after(tags, recipe);
      const actions = el.querySelector(".actions");
      const again = page.button("Draw again", "small regenerate", () =>
        page.run(() => api(`${base()}/${e.id}/regenerate`, {}), {
          doing: "drawing it again", status, button: again, stay: true,
          note: (d) => (d.identical ? "Drawn again: every note the same. It is in This session." :
            "Drawn again, but the notes differ (another model?)."),
        }));
      again.disabled = !e.settings;
      again.title = e.settings ? "draw it again from its seed and settings" : "this piece keeps no recipe";
      const del = page.button("Delete", "small delete", async () => {
        try {
          await api(`${base()}/${e.id}`, undefined, { method: "DELETE" });
          delete byPiece[e.piece_id]; el.remove(); count(); markKept(e.piece_id);
        } catch (err) { page.say(status, `Not deleted: ${err.message}`, true); }
      });
      actions.append(again, del);
      return el;
    }

    function add(e) {
      byPiece[e.piece_id] = e;
      const old = document.querySelector(`#library-cards .card[data-entry="${e.id}"]`);
      const el = entryCard(e);
      old ? old.replaceWith(el) : $("library-cards").prepend(el);
      count(); markKept(e.piece_id);
    }

    async function load() {
      $("library-cards").innerHTML = "";
      for (const k of Object.keys(byPiece)) delete byPiece[k];
      if (!state.listener) { count(); return; }
      try {
        const data = await api(base());
        for (const e of data.entries.slice().reverse()) add(e);
      } catch (err) { page.say($("library-status"), `Library not loaded: ${err.message}`, true); }
      count();
    }

    async function toggleKeep(p, status) {
      try {
        if (byPiece[p.id]) {
          const e = byPiece[p.id];
          await api(`${base()}/${e.id}`, undefined, { method: "DELETE" });
          delete byPiece[p.id];
          document.querySelector(`#library-cards .card[data-entry="${e.id}"]`)?.remove();
          count(); markKept(p.id);
          page.say(status, "Taken out of your library.");
          return;
        }
        await page.ensureListener();
        add(await api(base(), { piece_id: p.id }));
        page.say(status, "Kept in your library, with its seed and settings.");
      } catch (err) { page.say(status, `Not kept: ${err.message}`, true); }
    }

    return { load, toggleKeep, isKept: (pid) => !!byPiece[pid] };
  };
})();
