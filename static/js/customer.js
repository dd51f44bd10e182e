// The customer profile, live: a message on any of the customer's tickets, by anyone on any
// channel, appears at the top of the timeline for everyone who has the profile open.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("customer-config").textContent);
  const start = document.getElementById("timeline-start");
  const timeFormat = new Intl.DateTimeFormat(config.locale, {
    dateStyle: "short", timeStyle: "short", timeZone: config.timezone || "UTC",
  });
  if (!window.Dangol) return;
  const socket = window.Dangol.socket;
  const room = "customer:" + config.customer_id;

  function wanted(m) {
    if (config.kind === "public") return m.is_public;
    if (config.kind === "notes") return !m.is_public;
    return true;
  }

  function add(payload) {
    const m = payload.message;
    const t = payload.ticket;
    if (!wanted(m) || document.querySelector('[data-message-id="' + m.id + '"]')) return;
    const article = document.createElement("article");
    article.className = "message fresh " + m.direction + " " + (m.is_public ? "public" : "internal");
    article.dataset.messageId = m.id;
    const header = document.createElement("header");
    const who = document.createElement("strong");
    who.textContent = m.author_user_id !== null ? config.agents[m.author_user_id] || "?" : config.customer_name;
    header.appendChild(who);
    if (!m.is_public) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = config.text.note;
      header.appendChild(badge);
    }
    const kind = document.createElement("span");
    kind.className = "kind";
    kind.textContent = config.labels[m.kind] || m.kind;
    header.appendChild(kind);
    const link = document.createElement("a");
    link.className = "on-ticket";
    link.href = config.ticket_url + t.number;
    link.textContent = "#" + t.number + " " + t.subject;
    header.appendChild(link);
    const time = document.createElement("time");
    time.dateTime = m.created_at;
    time.textContent = timeFormat.format(new Date(m.created_at));
    header.appendChild(time);
    const body = document.createElement("div");
    body.className = "body";
    body.innerHTML = m.body_html; // sanitized by the server (services/html.py), as in the template
    article.appendChild(header);
    article.appendChild(body);
    start.parentNode.insertBefore(article, start.nextSibling);
    const empty = start.parentNode.querySelector("p.empty");
    if (empty) empty.remove();
  }

  function join() {
    socket.emit("subscribe", { room: room }, function (answer) {
      if (answer && answer.ok) document.documentElement.dataset.customerRoom = "joined";
    });
  }
  socket.on("connect", join);
  if (socket.connected) join();
  socket.on("message.added", function (payload) {
    if (payload.ticket.customer_id === config.customer_id) add(payload);
  });
})();
