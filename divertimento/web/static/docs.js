// A minimal, offline reader of the OpenAPI schema: each operation, its parameters and its body's fields.
"use strict";
(function () {
  function el(tag, text, cls) { const e = document.createElement(tag); if (text) e.textContent = text; if (cls) e.className = cls; return e; }

  function resolve(api, schema) {
    if (schema && schema.$ref) return api.components.schemas[schema.$ref.split("/").pop()];
    return schema || {};
  }

  function typeOf(s) {
    if (!s) return "";
    if (s.anyOf) return s.anyOf.map(typeOf).join(" | ");
    if (s.enum) return s.enum.join(" | ");
    if (s.const !== undefined) return String(s.const);
    const bits = [s.type || (s.$ref ? s.$ref.split("/").pop() : "")];
    if (s.minimum !== undefined || s.maximum !== undefined) bits.push(`${s.minimum ?? ""}..${s.maximum ?? ""}`);
    if (s.pattern) bits.push(`/${s.pattern}/`);
    if (s.maxLength) bits.push(`≤ ${s.maxLength} chars`);
    return bits.join(" ");
  }

  function fields(api, schema) {
    const s = resolve(api, schema);
    const t = el("table");
    const head = el("tr"); ["field", "type / bounds", "default", "meaning"].forEach((h) => head.appendChild(el("th", h))); t.appendChild(head);
    for (const [name, f] of Object.entries(s.properties || {})) {
      const r = el("tr");
      r.appendChild(el("td", name + ((s.required || []).includes(name) ? " *" : "")));
      r.appendChild(el("td", typeOf(f)));
      r.appendChild(el("td", f.default === undefined ? "" : JSON.stringify(f.default)));
      r.appendChild(el("td", f.description || ""));
      t.appendChild(r);
    }
    return t;
  }

  async function main() {
    const api = await (await fetch("/openapi.json")).json();
    const root = document.getElementById("ops");
    root.innerHTML = "";
    root.appendChild(el("p", api.info.description || ""));
    for (const [path, ops] of Object.entries(api.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const box = el("section", null, "op");
        const h = el("h3"); h.appendChild(el("span", method.toUpperCase(), "method")); h.appendChild(el("code", path));
        box.appendChild(h);
        if (op.description || op.summary) box.appendChild(el("p", op.description || op.summary));
        if (op.parameters && op.parameters.length) {
          box.appendChild(el("h4", "parameters"));
          box.appendChild(fields(api, { properties: Object.fromEntries(op.parameters.map((p) => [p.name, Object.assign({ description: p.description || p.in }, p.schema)])), required: op.parameters.filter((p) => p.required).map((p) => p.name) }));
        }
        const content = op.requestBody && op.requestBody.content;
        if (content) {
          const [type, c] = Object.entries(content)[0];
          box.appendChild(el("h4", `body (${type})`));
          box.appendChild(fields(api, c.schema));
        }
        root.appendChild(box);
      }
    }
    const ws = el("section", null, "op");
    const h = el("h3"); h.appendChild(el("span", "WS", "method")); h.appendChild(el("code", "/api/stream?seed=&style=&intensity=&tempo="));
    ws.appendChild(h);
    ws.appendChild(el("p", "A WebSocket of bars: {type: 'bar', index, notes: [[voice, step, length, MIDI pitch], ...], style, tempo, intensity, gen_ms, bar_ms}, sent about 1.5 bars ahead of playback. Send {type: 'set', style?, intensity? (0..1), tempo? (40..220)} at any time; {type: 'stop'} ends it."));
    root.appendChild(ws);
  }
  document.addEventListener("DOMContentLoaded", main);
})();
