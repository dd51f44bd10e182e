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
    const article = window.Dangol.messageArticle(m, {
      author: m.author_user_id !== null ? config.agents[m.author_user_id] || "?" : config.customer_name,
      labels: config.labels,
      noteText: config.text.note,
      timeFormat: timeFormat,
      ticket: { number: t.number, subject: t.subject, url: config.ticket_url + t.number },
    });
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
