// One Socket.IO connection per page, shared by the page's scripts (queue.js, ticket.js).
// It shows when the page is offline and tells the page to resynchronise after a reconnect,
// because events sent while it was away are not replayed.
(function () {
  "use strict";
  if (typeof io !== "function") return;
  const socket = io({ transports: ["websocket", "polling"] });
  const state = document.getElementById("live-state");
  const resyncs = [];
  let connectedBefore = false;

  socket.on("connect", function () {
    if (state) state.hidden = true;
    document.documentElement.dataset.live = "connected";
    if (connectedBefore) resyncs.forEach(function (fn) { fn(); });
    connectedBefore = true;
  });
  socket.on("disconnect", function () {
    document.documentElement.dataset.live = "offline";
    if (state) {
      state.textContent = state.dataset.offline || "Offline";
      state.hidden = false;
    }
  });

  // A message as the templates render it (ticket page, customer timeline), built from a
  // "message.added" payload. `options`: author (name), labels, noteText, timeFormat, and
  // optionally ticket {number, subject, url} for a link to the ticket it belongs to.
  function messageArticle(m, options) {
    const article = document.createElement("article");
    article.className = "message fresh " + m.direction + " " + (m.is_public ? "public" : "internal");
    article.dataset.messageId = m.id;
    const header = document.createElement("header");
    const who = document.createElement("strong");
    who.textContent = options.author;
    header.appendChild(who);
    if (!m.is_public) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = options.noteText;
      header.appendChild(badge);
    }
    const kind = document.createElement("span");
    kind.className = "kind";
    kind.textContent = options.labels[m.kind] || m.kind;
    header.appendChild(kind);
    if (options.ticket) {
      const link = document.createElement("a");
      link.className = "on-ticket";
      link.href = options.ticket.url;
      link.textContent = "#" + options.ticket.number + " " + options.ticket.subject;
      header.appendChild(link);
    }
    const time = document.createElement("time");
    time.dateTime = m.created_at;
    time.textContent = options.timeFormat.format(new Date(m.created_at));
    header.appendChild(time);
    const body = document.createElement("div");
    body.className = "body";
    body.innerHTML = m.body_html; // sanitized by the server (services/html.py), as in the templates
    article.appendChild(header);
    article.appendChild(body);
    return article;
  }

  window.Dangol = {
    socket: socket,
    // fn runs after every reconnect (not after the first connect).
    onResync: function (fn) { resyncs.push(fn); },
    messageArticle: messageArticle,
  };
})();

// The bell: a notification for this user (assigned, mentioned, customer replied, followed
// activity) raises the unread count and shows a short toast linking to the ticket or customer.
(function () {
  "use strict";
  const configEl = document.getElementById("bell-config");
  if (!window.Dangol || !configEl) return;
  const config = JSON.parse(configEl.textContent);
  const count = document.querySelector("#bell .unread-count");
  const toasts = document.getElementById("toasts");
  window.Dangol.socket.on("notification", function (payload) {
    const n = payload.notification;
    if (count) {
      count.textContent = String((parseInt(count.textContent, 10) || 0) + 1);
      count.hidden = false;
    }
    if (!toasts) return;
    const toast = document.createElement("a");
    toast.className = "toast " + n.kind;
    const label = config.text[n.kind] || n.kind;
    if (n.number) {
      toast.href = config.ticket_url + n.number;
      toast.textContent = label + ": #" + n.number + " " + n.subject;
    } else {  // a followed customer's activity outside a ticket (an order, a contract change)
      toast.href = config.customer_url + n.customer_id;
      toast.textContent = label + ": " + n.subject + " · " + n.excerpt;
    }
    toasts.appendChild(toast);
    setTimeout(function () { toast.remove(); }, 8000);
  });
})();
