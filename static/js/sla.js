// SLA badges: business time left on a ticket's SLA clock. The server says how much was left
// when it answered and whether the clock was running then, until when (the end of the current
// business period); the badge counts down from that on the browser's own clock, so skew between
// the two clocks does not matter, and it stops at `until`: no ticking through lunch or a weekend.
// A reload or the next live event brings a fresh figure.
(function () {
  "use strict";
  const textEl = document.getElementById("sla-text");
  if (!textEl) return;
  const text = JSON.parse(textEl.textContent);

  function format(seconds) {
    const s = Math.abs(Math.round(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const t = h ? text.hm.replace("{h}", h).replace("{m}", String(m).padStart(2, "0"))
      : text.m.replace("{m}", m);
    return seconds < 0 ? text.overdue.replace("{t}", t) : t;
  }

  function show(span) {
    const c = JSON.parse(span.dataset.countdown);
    let state = "paused";
    if (c.state === "paused") {
      span.textContent = text.paused;
    } else {
      const budget = c.running && c.until ? Date.parse(c.until) - Date.parse(c.at) : 0;
      const elapsed = Math.max(0, Math.min(Date.now() - (+span.dataset.seen), budget)) / 1000;
      const left = c.remaining - elapsed;
      state = left <= 0 ? "breached" : c.warn_in - elapsed <= 0 ? "warning" : "ok";
      span.textContent = format(left);
    }
    span.className = "sla " + state;
    span.title = text.states[state];
  }

  function tick() {
    document.querySelectorAll("[data-countdown]").forEach(function (span) {
      if (!span.dataset.seen) span.dataset.seen = String(Date.now());
      show(span);
    });
  }

  // A badge for a countdown from a live event (null: no clock, nothing to show).
  function badge(countdown) {
    if (!countdown) return null;
    const span = document.createElement("span");
    span.dataset.countdown = JSON.stringify(countdown);
    span.dataset.seen = String(Date.now());
    show(span);
    return span;
  }

  tick();
  setInterval(tick, 15000);
  window.DangolSla = { badge: badge };
})();
