// The live queue: tickets created or changed anywhere appear, move or leave this view, and the
// view counts follow, without a reload and without moving what the agent is looking at.
//
// Which view a ticket belongs to is decided by the same filters the server used to list it
// (services/queue_views.py sends them in #queue-config); every event carries the ticket's new
// state and, for updates, the fields' previous values, so counts move by +1/-1 exactly.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("queue-config").textContent);
  const tbody = document.querySelector("[data-live-queue] tbody");
  function emptyRow() { return tbody.querySelector("tr.empty-row"); }
  const current = config.filters[config.view];
  const descending = config.sort.charAt(0) === "-";
  const byCreated = config.sort.indexOf("created_at") >= 0;
  const bySla = config.sort === "sla_due_at"; // "breaches next"; no running clock sorts last
  const NO_DEADLINE = Date.parse("9999-12-31T00:00:00Z");
  const counts = {};
  const timeFormat = new Intl.DateTimeFormat(config.locale, {
    dateStyle: "short", timeStyle: "short", timeZone: config.timezone || "UTC",
  });

  const sortSelect = document.querySelector("form.sort select");
  if (sortSelect) sortSelect.addEventListener("change", function () { sortSelect.form.submit(); });

  document.querySelectorAll("[data-count]").forEach(function (el) {
    counts[el.dataset.count] = parseInt(el.textContent.replace(/[^0-9]/g, ""), 10) || 0;
  });

  function matches(flt, t) {
    if (!t) return false;
    if (flt.statuses.length && flt.statuses.indexOf(t.status) < 0) return false;
    if (flt.assignee_id !== null && t.assignee_id !== flt.assignee_id) return false;
    if (flt.unassigned && t.assignee_id !== null) return false;
    if (flt.group_id !== null && t.group_id !== flt.group_id) return false;
    if (flt.customer_id !== null && t.customer_id !== flt.customer_id) return false;
    if (flt.organization_id !== null && t.organization_id !== flt.organization_id) return false;
    if (flt.channel !== null && t.channel !== flt.channel) return false;
    if (flt.priority !== null && t.priority !== flt.priority) return false;
    if (flt.tag !== null && (t.tags || []).indexOf(flt.tag) < 0) return false;
    return true;
  }

  // ---- counts -------------------------------------------------------------------------------
  function showCount(key) {
    const el = document.querySelector('[data-count="' + key + '"]');
    if (!el) return;
    const n = counts[key];
    el.textContent = n >= config.cap ? config.cap.toLocaleString(config.locale) + "+"
      : n.toLocaleString(config.locale);
  }

  function adjustCounts(before, after) {
    Object.keys(counts).forEach(function (key) {
      if (counts[key] >= config.cap) return; // "1,000+": exact again at the next resync
      const was = matches(config.filters[key], before);
      const is = matches(config.filters[key], after);
      if (was === is) return;
      counts[key] = Math.max(0, counts[key] + (is ? 1 : -1));
      showCount(key);
    });
  }

  function resyncCounts() {
    fetch(config.counts_url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (fresh) {
        if (!fresh) return;
        Object.keys(fresh).forEach(function (key) { counts[key] = fresh[key]; showCount(key); });
      })
      .catch(function () { /* offline: the next reconnect resyncs */ });
  }

  // ---- rows ---------------------------------------------------------------------------------
  function rowFor(id) { return tbody.querySelector('tr[data-ticket-id="' + id + '"]'); }
  function liveRows() { return Array.prototype.slice.call(tbody.querySelectorAll("tr[data-ticket-id]")); }

  function due(iso) { return iso ? Date.parse(iso) : NO_DEADLINE; }
  function keyOf(t) {
    if (bySla) return [due(t.sla && t.sla.due_at), t.id];
    return [Date.parse(byCreated ? t.created_at : t.updated_at), t.id];
  }
  function rowKey(row) {
    if (bySla) return [due(row.dataset.slaDue), +row.dataset.ticketId];
    return [Date.parse(byCreated ? row.dataset.created : row.dataset.updated), +row.dataset.ticketId];
  }
  function before(a, b) { // does key a come before key b in this view's order?
    const c = a[0] - b[0] || a[1] - b[1];
    return descending ? c > 0 : c < 0;
  }

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    if (text !== undefined) td.textContent = text;
    return td;
  }
  function badge(kind, value) {
    const span = document.createElement("span");
    span.className = kind + " " + value;
    span.textContent = config.labels[value] || value;
    return span;
  }

  // ---- selection for bulk changes: kept by ticket id, so live updates never untick a row ----
  const bulk = document.getElementById("bulk");
  const picked = new Set();
  function showBulk() {
    if (!bulk) return;
    bulk.hidden = picked.size === 0;
    document.getElementById("bulk-count").textContent = String(picked.size);
  }
  function pickBox(id) {
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "ids";
    box.value = String(id);
    box.setAttribute("form", "bulk");
    box.checked = picked.has(String(id));
    return box;
  }
  tbody.addEventListener("change", function (event) {
    const box = event.target;
    if (box.name !== "ids") return;
    if (box.checked) picked.add(box.value); else picked.delete(box.value);
    showBulk();
  });
  const pickAll = document.getElementById("pick-all");
  if (pickAll) {
    pickAll.addEventListener("change", function () {
      tbody.querySelectorAll('input[name="ids"]').forEach(function (box) {
        box.checked = pickAll.checked;
        if (box.checked) picked.add(box.value); else picked.delete(box.value);
      });
      showBulk();
    });
  }

  function fillRow(row, t) {
    const previousCustomer = row.querySelector("td.customer");
    row.dataset.ticketId = t.id;
    row.dataset.updated = t.updated_at;
    row.dataset.created = t.created_at;
    row.dataset.slaDue = (t.sla && t.sla.due_at) || "";
    row.dataset.version = t.version;
    row.replaceChildren();
    if (config.can_update) {
      const pick = cell(undefined, "pick");
      pick.appendChild(pickBox(t.id));
      row.appendChild(pick);
    }
    row.appendChild(cell(String(t.number), "num"));
    const subject = cell(undefined, "subject");
    const dot = document.createElement("span");
    dot.className = "unread-dot";
    dot.title = config.text.unread;
    dot.setAttribute("role", "img");
    dot.setAttribute("aria-label", config.text.unread);
    dot.hidden = !row.classList.contains("unread");
    subject.appendChild(dot);
    const link = document.createElement("a");
    link.href = config.ticket_url + t.number;
    link.textContent = t.subject;
    subject.appendChild(link);
    row.appendChild(subject);
    const name = t.customer_name || (previousCustomer ? previousCustomer.textContent : "");
    row.appendChild(cell(name, "customer"));
    const channel = cell();
    channel.appendChild(badge("channel", t.channel));
    row.appendChild(channel);
    const status = cell();
    status.appendChild(badge("status", t.status));
    row.appendChild(status);
    const priority = cell();
    priority.appendChild(badge("priority", t.priority));
    row.appendChild(priority);
    const sla = cell(undefined, "sla-cell");
    const countdown = window.DangolSla && t.sla ? window.DangolSla.badge(t.sla.countdown) : null;
    if (countdown) sla.appendChild(countdown);
    row.appendChild(sla);
    row.appendChild(cell(t.assignee_id !== null ? config.agents[t.assignee_id] || "?" : "—", "assignee"));
    const when = cell();
    const time = document.createElement("time");
    time.dateTime = t.updated_at;
    time.textContent = timeFormat.format(new Date(t.updated_at));
    when.appendChild(time);
    row.appendChild(when);
  }

  // Keep the first row on screen where it is while rows above it come and go.
  function keepingScroll(mutate, movingRow) {
    const anchor = liveRows().find(function (r) {
      return r !== movingRow && r.getBoundingClientRect().bottom > 0;
    });
    const top = anchor ? anchor.getBoundingClientRect().top : 0;
    mutate();
    if (anchor && anchor.isConnected) window.scrollBy(0, anchor.getBoundingClientRect().top - top);
  }

  function place(t) {
    const existing = rowFor(t.id);
    if (existing && +existing.dataset.version > t.version) return; // an older event, late
    const key = keyOf(t);
    const rows = liveRows().filter(function (r) { return r !== existing; });
    let belongs = matches(current, t);
    // Only place it among the rows this page shows: not before the first row of a later page,
    // not after the last row when more pages follow.
    if (belongs && config.paged && rows.length && before(key, rowKey(rows[0]))) belongs = false;
    const next = rows.find(function (r) { return before(key, rowKey(r)); }) || null;
    if (belongs && !next && !config.complete) belongs = false;
    keepingScroll(function () {
      if (!belongs) {
        if (existing) existing.remove();
        if (picked.delete(String(t.id))) showBulk(); // gone from view: not changed by mistake
        return;
      }
      const row = existing || document.createElement("tr");
      fillRow(row, t);
      tbody.insertBefore(row, next || emptyRow());
      row.classList.remove("fresh");
      void row.offsetWidth; // restart the highlight
      row.classList.add("fresh");
    }, existing);
    emptyRow().hidden = liveRows().length > 0;
  }

  function previousState(t, changes) {
    const old = Object.assign({}, t);
    Object.keys(changes || {}).forEach(function (field) { old[field] = changes[field][0]; });
    return old;
  }

  // A whole-page refresh of the rows after a reconnect: what happened meanwhile is not replayed.
  function resyncRows() {
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        const fresh = new DOMParser().parseFromString(html, "text/html")
          .querySelector("[data-live-queue] tbody");
        if (!fresh) return;
        keepingScroll(function () { tbody.replaceChildren.apply(tbody, Array.from(fresh.children)); });
        // Keep the agent's ticks on the rows still shown; forget the ones that left the view.
        const shown = new Set();
        tbody.querySelectorAll('input[name="ids"]').forEach(function (box) {
          shown.add(box.value);
          box.checked = picked.has(box.value);
        });
        Array.from(picked).forEach(function (id) { if (!shown.has(id)) picked.delete(id); });
        showBulk();
      })
      .catch(function () {});
  }

  // ---- keyboard: j/k move the selection, Enter or o opens; the order is kept for the ticket
  // page's j/k (next/previous ticket without going back to the queue).
  let selected = -1;
  function select(index) {
    const rows = liveRows();
    if (!rows.length) return;
    selected = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (r, i) { r.classList.toggle("selected", i === selected); });
    rows[selected].scrollIntoView({ block: "nearest" });
  }
  function rememberOrder() {
    const numbers = liveRows().map(function (r) { return +r.querySelector("td.num").textContent; });
    try {
      sessionStorage.setItem("dangol.queue", JSON.stringify(numbers));
      sessionStorage.setItem("dangol.queueUrl", window.location.pathname + window.location.search);
    } catch (e) { /* private mode: j/k on the ticket page just do nothing */ }
  }
  rememberOrder();
  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (target.closest && target.closest("input, textarea, select")) return;
    if (event.key === "j") select(selected + 1);
    else if (event.key === "k") select(selected - 1);
    else if ((event.key === "Enter" || event.key === "o") && selected >= 0) {
      const link = liveRows()[selected].querySelector("td.subject a");
      if (link) link.click();
    } else return;
    event.preventDefault();
  });
  tbody.addEventListener("click", rememberOrder);

  // ---- unread markers: a ticket is unread while the customer wrote after this agent last
  // opened it (services/ticket_reads.py). The server decides; rows that arrive by event, and a
  // customer's new message, ask it for their state (one request per burst of events).
  function setUnread(row, unread) {
    row.classList.toggle("unread", !!unread);
    const dot = row.querySelector(".unread-dot");
    if (dot) dot.hidden = !unread;
  }
  const staleIds = new Set();
  let staleTimer = null;
  function applyFlags(flags) {
    Object.keys(flags || {}).forEach(function (id) {
      const row = rowFor(id);
      if (row) setUnread(row, flags[id]);
    });
  }
  function refreshUnread(ids) {
    ids.forEach(function (id) { staleIds.add(String(id)); });
    if (staleTimer !== null || !staleIds.size) return;
    staleTimer = setTimeout(function () {
      const batch = Array.from(staleIds);
      staleIds.clear();
      staleTimer = null;
      fetch(config.read_state_url + "?ids=" + batch.join(","), {
        credentials: "same-origin", headers: { Accept: "application/json" },
      })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(applyFlags)
        .catch(function () { /* offline: the resync after reconnecting redraws the rows */ });
    }, 50);
  }
  // Back from reading tickets in another tab: the rows read there lose their marker.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      refreshUnread(liveRows().map(function (r) { return r.dataset.ticketId; }));
    }
  });
  const bulkUnread = document.getElementById("bulk-unread");
  if (bulkUnread && bulk) {
    bulkUnread.addEventListener("click", function () {
      const form = new FormData();
      form.append("csrf_token", bulk.querySelector("input[name=csrf_token]").value);
      picked.forEach(function (id) { form.append("ids", id); });
      fetch(config.unread_url, {
        method: "POST", body: form, credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(applyFlags)
        .catch(function () {});
    });
  }

  if (!window.Dangol) return;
  const socket = window.Dangol.socket;
  socket.on("ticket.created", function (payload) {
    adjustCounts(null, payload.ticket);
    place(payload.ticket);
    const row = rowFor(payload.ticket.id);
    if (row) setUnread(row, true); // opened by a customer message that nobody has read yet
  });
  socket.on("ticket.updated", function (payload) {
    const shownBefore = !!rowFor(payload.ticket.id);
    adjustCounts(previousState(payload.ticket, payload.changes), payload.ticket);
    place(payload.ticket);
    // A message nobody on staff wrote (the customer's) may make it unread; a row that moved
    // into this view has a state this page does not know yet.
    const fromOutside = payload.actor_user_id === null && !Object.keys(payload.changes || {}).length;
    if (rowFor(payload.ticket.id) && (!shownBefore || fromOutside)) refreshUnread([payload.ticket.id]);
  });
  socket.on("ticket.merged", function (payload) {
    place(payload.source);
    place(payload.target);
    resyncCounts();
  });
  window.Dangol.onResync(function () { resyncCounts(); resyncRows(); });
  setInterval(resyncCounts, 120000);
})();
