// The ticket page, live: new messages appear in the conversation, the side panel follows
// changes, and everyone on the page sees who else is viewing or typing (collision detection).
// A reply written while someone else answered is refused by the server (seen_message_id) and
// flagged here as soon as their message arrives.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("ticket-config").textContent);
  const room = "ticket:" + config.ticket_id;
  const presenceEl = document.getElementById("presence");
  const collisionEl = document.getElementById("collision");
  const composer = document.querySelector("form.composer");
  const body = composer ? composer.querySelector("textarea[name=body]") : null;
  const seenInput = composer ? composer.querySelector("input[name=seen_message_id]") : null;
  const end = document.getElementById("conversation-end");
  const timeFormat = new Intl.DateTimeFormat(config.locale, {
    dateStyle: "medium", timeStyle: "short", timeZone: config.timezone || "UTC",
  });
  const PEER_TIMEOUT_MS = 60000;
  const HEARTBEAT_MS = 20000;
  const TYPING_IDLE_MS = 6000;

  // ---- composer: Ctrl/Cmd+Enter sends, but never in the middle of a Hangul composition --------
  if (body) {
    body.addEventListener("keydown", function (event) {
      if (event.isComposing || event.keyCode === 229) return; // the IME owns this key
      if (body.dataset.suggesting === "open") return; // Enter picks from the @mention list
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        const reply = composer.querySelector("button[value=" + (composer.dataset.intent || "reply") + "]") ||
          composer.querySelector("button[value=note]");
        if (reply && body.value.trim()) reply.click();
      }
    });
  }

  // ---- keyboard shortcuts (never while typing in a field) ---------------------------------
  const help = document.getElementById("shortcuts");
  function neighbour(step) {
    let order = [];
    try { order = JSON.parse(sessionStorage.getItem("dangol.queue") || "[]"); } catch (e) { order = []; }
    const at = order.indexOf(config.number);
    return at >= 0 ? order[at + step] : undefined;
  }
  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    const kindButton = function (kind) { return composer && composer.querySelector("button[value=" + kind + "]"); };
    let handled = true;
    switch (event.key) {
      case "r":
      case "n":
        if (body) {
          body.focus();
          composer.dataset.intent = event.key === "r" ? "reply" : "note";
          const button = kindButton(composer.dataset.intent);
          if (button) button.classList.add("intended");
        }
        break;
      case "a": {
        const assign = document.querySelector('[data-action="assign-me"]');
        if (assign) assign.click();
        break;
      }
      case "j":
      case "k": {
        const number = neighbour(event.key === "j" ? 1 : -1);
        if (number !== undefined) window.location.href = config.ticket_url + number;
        break;
      }
      case "u":
        window.location.href = sessionStorage.getItem("dangol.queueUrl") || config.queue_url;
        break;
      case "?":
        if (help && help.showModal) help.showModal();
        break;
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  });
  const helpLink = document.querySelector(".shortcut-help");
  if (helpLink && help) {
    helpLink.addEventListener("click", function (event) { event.preventDefault(); help.showModal(); });
  }

  if (!window.Dangol) return;
  const socket = window.Dangol.socket;

  // ---- presence -----------------------------------------------------------------------------
  const peers = {}; // conn -> {name, state, at}
  let myState = "viewing";

  function announce(state, reply) {
    myState = state;
    socket.emit("presence", { ticket_id: config.ticket_id, state: state, reply: !!reply });
  }

  function renderPresence() {
    const now = Date.now();
    const byState = { viewing: [], typing: [] };
    const seen = {};
    Object.keys(peers).forEach(function (conn) {
      const peer = peers[conn];
      if (now - peer.at > PEER_TIMEOUT_MS) { delete peers[conn]; return; }
      const key = peer.name + "|" + peer.state;
      if (seen[key] || !byState[peer.state]) return; // one line per person, not per tab
      seen[key] = true;
      byState[peer.state].push(peer.name);
    });
    const typingNames = byState.typing;
    const viewingNames = byState.viewing.filter(function (n) { return typingNames.indexOf(n) < 0; });
    const parts = [];
    if (typingNames.length) parts.push(config.text.typing.replace("{names}", typingNames.join(", ")));
    if (viewingNames.length) parts.push(config.text.viewing.replace("{names}", viewingNames.join(", ")));
    presenceEl.textContent = parts.join(" · ");
    presenceEl.hidden = parts.length === 0;
    presenceEl.classList.toggle("typing", typingNames.length > 0);
  }

  socket.on("presence", function (p) {
    if (p.ticket_id !== config.ticket_id) return;
    if (p.state === "left") delete peers[p.conn];
    else {
      const isNew = !peers[p.conn];
      peers[p.conn] = { name: p.name, state: p.state, at: Date.now() };
      if (isNew && !p.reply) announce(myState, true); // introduce ourselves to the newcomer
    }
    renderPresence();
  });

  function join() {
    socket.emit("subscribe", { room: room }, function (answer) {
      if (!answer || !answer.ok) return;
      document.documentElement.dataset.ticketRoom = "joined"; // tests wait for this
      announce(myState);
    });
  }
  socket.on("connect", join);
  socket.on("disconnect", function () { delete document.documentElement.dataset.ticketRoom; });
  if (socket.connected) join();
  setInterval(function () { if (socket.connected) announce(myState); renderPresence(); }, HEARTBEAT_MS);

  let typingTimer = null;
  if (body) {
    body.addEventListener("input", function () {
      if (myState !== "typing" && body.value.trim()) announce("typing");
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { if (myState === "typing") announce("viewing"); }, TYPING_IDLE_MS);
    });
    composer.addEventListener("submit", function () { clearTimeout(typingTimer); });
  }

  // ---- the conversation and the side panel --------------------------------------------------
  function authorName(m) {
    if (m.author_user_id !== null) return config.agents[m.author_user_id] || "?";
    return config.customer_name;
  }

  function appendMessage(m) {
    if (document.querySelector('[data-message-id="' + m.id + '"]')) return;
    const article = window.Dangol.messageArticle(m, {
      author: authorName(m), labels: config.labels, noteText: config.text.note, timeFormat: timeFormat,
    });
    end.parentNode.insertBefore(article, end);
  }

  // ---- unread marker: a customer message read here, as it arrives, is not unread in the queue
  let unreadWhileHidden = false;
  function markRead() {
    const token = composer && composer.querySelector("input[name=csrf_token]");
    unreadWhileHidden = false;
    fetch(config.read_url, {
      method: "POST", credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": token ? token.value : "" },
    }).catch(function () { /* the next visit marks it read */ });
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && unreadWhileHidden) markRead();
  });

  socket.on("message.added", function (payload) {
    const m = payload.message;
    if (m.ticket_id !== config.ticket_id) return;
    appendMessage(m);
    if (m.direction === "in") {
      if (document.visibilityState === "visible") markRead(); else unreadWhileHidden = true;
    }
    const mine = payload.actor_user_id === config.me;
    const writing = body && body.value.trim();
    if (!mine && writing && m.is_public) {
      // Keep seen_message_id where it was: sending now is refused until the draft is re-sent.
      collisionEl.textContent = config.text.replied.replace("{name}", authorName(m));
      collisionEl.hidden = false;
    } else if (seenInput && !writing) {
      seenInput.value = Math.max(+seenInput.value || 0, m.id);
    }
  });

  // Fields follow a colleague's change unless this agent is editing them; the form's version
  // moves on too, so saving an untouched field never reports a conflict with itself.
  const fieldsForm = document.getElementById("fields");
  const dirty = {};
  if (fieldsForm) {
    fieldsForm.addEventListener("change", function (event) { dirty[event.target.name] = true; });
    fieldsForm.addEventListener("input", function (event) { dirty[event.target.name] = true; });
  }
  function setControl(selector, name, value) {
    const el = document.querySelector(selector);
    if (el && !dirty[name]) el.value = value === null || value === undefined ? "" : String(value);
  }

  function fieldValue(name, value) {
    if (value === null || value === undefined || (Array.isArray(value) && !value.length)) return "—";
    if (name === "assignee_id") return config.agents[value] || "?";
    if (name === "group_id") return config.groups[value] || "?";
    if (name === "tags") return value.join(", ");
    if (name === "subject") return value;
    return config.labels[value] || value;
  }

  function appendSystemEvent(payload) {
    const names = Object.keys(payload.changes || {}).filter(function (n) { return config.fields[n]; });
    // The SLA ticker's "warning:first_response" / "breach:resolution" (re-matches are silent).
    const sla = /^(warning|breach):(\w+)$/.exec(((payload.changes || {}).sla || [])[1] || "");
    if (!names.length && !sla) return;
    const line = document.createElement("p");
    line.className = "system-event fresh";
    const who = document.createElement("strong");
    who.textContent = payload.actor_user_id !== null
      ? config.agents[payload.actor_user_id] || "?" : config.text.system;
    line.appendChild(who);
    if (sla) {
      const alert = document.createElement("span");
      alert.className = "change sla-" + sla[1];
      alert.textContent = config.text["sla_" + sla[1]] + ": " + (config.labels[sla[2]] || sla[2]);
      line.appendChild(alert);
    }
    names.forEach(function (name) {
      const change = document.createElement("span");
      change.className = "change";
      const pair = payload.changes[name];
      change.textContent = config.fields[name] + ": " + fieldValue(name, pair[0]) + " → " +
        fieldValue(name, pair[1]);
      line.appendChild(change);
    });
    const time = document.createElement("time");
    const at = sla ? new Date().toISOString() : payload.ticket.updated_at;
    time.dateTime = at;
    time.textContent = timeFormat.format(new Date(at));
    line.appendChild(time);
    end.parentNode.insertBefore(line, end);
  }

  socket.on("ticket.updated", function (payload) {
    const t = payload.ticket;
    if (t.id !== config.ticket_id) return;
    appendSystemEvent(payload);
    const status = document.querySelector('[data-field="status"]');
    if (status) {
      status.className = "status " + t.status;
      status.textContent = config.labels[t.status] || t.status;
    }
    const priority = document.querySelector('[data-field="priority"]');
    if (priority) priority.textContent = config.labels[t.priority] || t.priority;
    const assignee = document.querySelector('[data-field="assignee_id"]');
    if (assignee) assignee.textContent = t.assignee_id !== null ? config.agents[t.assignee_id] || "?" : "—";
    const subject = document.querySelector('[data-field="subject"]');
    if (subject) subject.textContent = t.subject;
    if (t.status !== "new") setControl('[data-field="status-select"]', "status", t.status);
    setControl('[data-field="priority-select"]', "priority", t.priority);
    setControl('[data-field="group-select"]', "group_id", t.group_id);
    setControl('[data-field="assignee-select"]', "assignee_id", t.assignee_id);
    if (t.tags) setControl('[data-field="tags-input"]', "tags", t.tags.join(", "));
    document.querySelectorAll('input[name="version"]').forEach(function (input) {
      input.value = t.version;
    });
    const clock = document.querySelector("[data-sla-clock]");
    if (clock && window.DangolSla && t.sla) {
      const fresh = window.DangolSla.badge(t.sla.countdown);
      clock.replaceChildren.apply(clock, fresh ? [fresh] : []);
    }
  });

  // Outgoing email: queued → sent, or not delivered with the server's reason.
  socket.on("message.delivery", function (payload) {
    const article = document.querySelector('[data-message-id="' + payload.message_id + '"]');
    if (!article) return;
    let badge = article.querySelector("[data-delivery]");
    if (!badge) {
      badge = document.createElement("span");
      badge.dataset.delivery = payload.message_id;
      const time = article.querySelector("header time");
      article.querySelector("header").insertBefore(badge, time);
    }
    badge.className = "delivery " + payload.status;
    badge.textContent = config.delivery[payload.status] || payload.status;
    badge.title = payload.error || "";
  });

  // After a reconnect, reload the conversation from the server: events missed are not replayed.
  window.Dangol.onResync(function () {
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        const doc = new DOMParser().parseFromString(html, "text/html");
        doc.querySelectorAll("article.message[data-message-id]").forEach(function (a) {
          if (!document.querySelector('[data-message-id="' + a.dataset.messageId + '"]')) {
            end.parentNode.insertBefore(document.importNode(a, true), end);
          }
        });
      })
      .catch(function () {});
  });

  window.addEventListener("pagehide", function () {
    socket.emit("unsubscribe", { room: room });
  });
})();
