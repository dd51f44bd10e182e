// The customer profile, live: whoever has it open sees new messages on any of the customer's
// tickets, profile notes (added, edited, deleted), business events pushed in from outside and
// changes to the profile fields (tags, account manager, tier, attributes) and SLA breaches on
// the customer's tickets as they happen.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("customer-config").textContent);
  const start = document.getElementById("timeline-start");
  const timeline = start.parentNode;
  const timeFormat = new Intl.DateTimeFormat(config.locale, {
    dateStyle: "short", timeStyle: "short", timeZone: config.timezone || "UTC",
  });
  if (!window.Dangol) return;
  const socket = window.Dangol.socket;
  const room = "customer:" + config.customer_id;
  const MESSAGE_FILTERS = ["all", "messages", "public", "notes", "calls", "chats"];

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function timeEl(iso) {
    const time = el("time");
    time.dateTime = iso;
    time.textContent = timeFormat.format(new Date(iso));
    return time;
  }

  // Put a live entry where its time belongs (a business event may have happened earlier);
  // one older than everything shown waits for the "Older" page if there is one.
  function place(article, iso) {
    const when = new Date(iso).getTime();
    const shown = timeline.querySelectorAll("article.entry");
    for (const other of shown) {
      const time = other.querySelector("header time");
      if (time && when >= new Date(time.dateTime).getTime()) {
        timeline.insertBefore(article, other);
        return true;
      }
    }
    if (shown.length && timeline.querySelector('a[href*="cursor="]')) return false;
    timeline.insertBefore(article, shown.length ? shown[shown.length - 1].nextSibling : start.nextSibling);
    return true;
  }

  function placed(article, iso) {
    if (place(article, iso)) {
      const empty = timeline.querySelector("p.empty");
      if (empty) empty.remove();
    }
  }

  function wantedMessage(m) {
    const kind = config.kind;
    if (MESSAGE_FILTERS.indexOf(kind) < 0) return false;
    if (kind === "public") return m.is_public;
    if (kind === "notes") return !m.is_public;
    if (kind === "calls") return m.kind === "phone";
    if (kind === "chats") return m.kind === "chat";
    return true;
  }

  function addMessage(payload) {
    const m = payload.message;
    const t = payload.ticket;
    if (!wantedMessage(m) || timeline.querySelector('[data-entry="message:' + m.id + '"]')) return;
    const article = window.Dangol.messageArticle(m, {
      author: m.author_user_id !== null ? config.agents[m.author_user_id] || "?" : config.customer_name,
      labels: config.labels,
      noteText: config.text.note,
      timeFormat: timeFormat,
      ticket: { number: t.number, subject: t.subject, url: config.ticket_url + t.number },
    });
    article.classList.add("entry");
    article.dataset.entry = "message:" + m.id;
    placed(article, m.created_at);
  }

  function authorName(note) {
    return config.agents[note.author_id] || note.author_name || "?";
  }

  function noteArticle(note) {
    const article = el("article", "entry profile-note fresh");
    article.dataset.entry = "note:" + note.id;
    const header = el("header");
    header.appendChild(el("strong", null, authorName(note)));
    header.appendChild(el("span", "badge", config.text.profile_note));
    header.appendChild(timeEl(note.created_at));
    article.appendChild(header);
    article.appendChild(el("div", "body plain", note.body));
    return article;
  }

  function noteItem(note) {
    const item = el("li", "customer-note fresh");
    item.dataset.noteId = note.id;
    const meta = el("p", "note-meta");
    meta.appendChild(el("strong", null, authorName(note)));
    meta.appendChild(timeEl(note.created_at));
    item.appendChild(meta);
    item.appendChild(el("p", "note-body", note.body));
    if (note.author_id === config.me || config.is_admin) {
      const actions = document.getElementById("note-actions").content.cloneNode(true);
      actions.querySelector(".note-edit-form").action = config.note_url + note.id + "/edit";
      actions.querySelector(".note-edit-form textarea").value = note.body;
      actions.querySelector(".note-delete-form").action = config.note_url + note.id + "/delete";
      item.appendChild(actions);
    }
    return item;
  }

  function onNote(payload) {
    const note = payload.note;
    const entry = timeline.querySelector('[data-entry="note:' + note.id + '"]');
    const list = document.querySelector(".customer-notes");
    const item = list && list.querySelector('[data-note-id="' + note.id + '"]');
    if (payload.action === "deleted") {
      if (entry) entry.remove();
      if (item) item.remove();
      return;
    }
    if (payload.action === "edited") {
      if (entry) entry.querySelector(".body").textContent = note.body;
      if (item) {
        item.querySelector(".note-body").textContent = note.body;
        const area = item.querySelector(".note-edit-form textarea");
        if (area) area.value = note.body;
        const meta = item.querySelector(".note-meta");
        if (meta && !meta.querySelector(".edited")) meta.appendChild(el("span", "edited", "(" + config.text.edited + ")"));
      }
      return;
    }
    if (!entry && (config.kind === "all" || config.kind === "notes")) placed(noteArticle(note), note.created_at);
    if (list && !item) {
      const empty = list.querySelector("li.empty");
      if (empty) empty.remove();
      list.insertBefore(noteItem(note), list.firstChild);
    }
  }

  function onEvent(payload) {
    const ev = payload.event;
    if ((config.kind === "all" || config.kind === "events") &&
        !timeline.querySelector('[data-entry="event:' + ev.id + '"]')) {
      const article = el("article", "entry business-event fresh");
      article.dataset.entry = "event:" + ev.id;
      article.dataset.eventKind = ev.kind;
      const header = el("header");
      header.appendChild(el("span", "badge event", ev.kind));
      header.appendChild(el("strong", null, ev.title));
      if (ev.data && ev.data.amount) {
        header.appendChild(el("span", "amount", ev.data.amount + " " + (ev.data.currency || "")));
      }
      header.appendChild(timeEl(ev.occurred_at));
      article.appendChild(header);
      placed(article, ev.occurred_at);
    }
    const side = document.querySelector(".customer-events");
    if (side && !side.querySelector('[data-event-id="' + ev.id + '"]')) {
      const empty = side.querySelector("li.empty");
      if (empty) empty.remove();
      const item = el("li", "fresh");
      item.dataset.eventKind = ev.kind;
      item.dataset.eventId = ev.id;
      item.appendChild(el("span", "badge", ev.kind));
      item.appendChild(document.createTextNode(" " + ev.title + " "));
      item.appendChild(timeEl(ev.occurred_at));
      side.insertBefore(item, side.firstChild);
    }
  }

  function setText(name, text) {
    const node = document.querySelector('[data-profile="' + name + '"]');
    if (node) node.textContent = text;
  }

  function onCustomer(payload) {
    const c = payload.customer;
    if (c.id !== config.customer_id) return;
    if (c.name !== undefined) setText("name", c.name);
    if (c.tier !== undefined) setText("tier", c.tier || config.text.none);
    if (c.locale !== undefined) setText("locale", c.locale || config.text.none);
    if (c.owner_id !== undefined) {
      setText("owner", c.owner_id === null ? config.text.no_owner : config.agents[c.owner_id] || "#" + c.owner_id);
    }
    const tags = document.querySelector('[data-profile="tags"]');
    if (tags && Array.isArray(c.tags)) {
      tags.replaceChildren.apply(tags, c.tags.map(function (t) { return el("li", "tag", t); }));
    }
    const attributes = document.querySelector('[data-profile="attributes"]');
    if (attributes && c.attributes) {
      attributes.replaceChildren.apply(attributes, Object.keys(c.attributes).map(function (key) {
        const row = el("div");
        row.appendChild(el("dt", null, key));
        row.appendChild(el("dd", null, String(c.attributes[key])));
        return row;
      }));
    }
  }

  // An SLA breach on one of the customer's tickets: the event names the ticket, not the
  // breached target, so the entries come from the profile page as the server renders it now
  // (the same markup and language as on load), and the ones not shown yet are placed.
  let breachFetch = null;
  let breachAgain = false;
  function onTicketUpdated(payload) {
    const sla = payload.changes && payload.changes.sla;
    if (payload.ticket.customer_id !== config.customer_id) return;
    if (!Array.isArray(sla) || String(sla[1] || "").indexOf("breach:") !== 0) return;
    const counter = document.querySelector('[data-summary="breached"]');
    if (counter) counter.textContent = String((parseInt(counter.textContent, 10) || 0) + 1);
    if (config.kind === "all" || config.kind === "sla") refreshBreaches();
  }

  function refreshBreaches() {
    if (breachFetch) {  // the page may have been rendered before this breach: once more after
      breachAgain = true;
      return;
    }
    breachFetch = fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        const fresh = new DOMParser().parseFromString(html, "text/html");
        fresh.querySelectorAll("article.sla-breach[data-entry]").forEach(function (article) {
          if (timeline.querySelector('[data-entry="' + article.dataset.entry + '"]')) return;
          const time = article.querySelector("header time");
          article.classList.add("fresh");
          placed(document.importNode(article, true), time ? time.dateTime : new Date().toISOString());
        });
      })
      .catch(function () { /* the entry appears on the next load */ })
      .finally(function () {
        breachFetch = null;
        if (breachAgain) {
          breachAgain = false;
          refreshBreaches();
        }
      });
  }

  function join() {
    socket.emit("subscribe", { room: room }, function (answer) {
      if (answer && answer.ok) document.documentElement.dataset.customerRoom = "joined";
    });
  }
  socket.on("connect", join);
  if (socket.connected) join();
  socket.on("message.added", function (payload) {
    if (payload.ticket.customer_id === config.customer_id) addMessage(payload);
  });
  socket.on("customer.note", function (payload) {
    if (payload.note.customer_id === config.customer_id) onNote(payload);
  });
  socket.on("customer.event", function (payload) {
    if (payload.event.customer_id === config.customer_id) onEvent(payload);
  });
  socket.on("customer.changed", onCustomer);
  socket.on("ticket.updated", onTicketUpdated);
})();
