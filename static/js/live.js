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

  window.Dangol = {
    socket: socket,
    // fn runs after every reconnect (not after the first connect).
    onResync: function (fn) { resyncs.push(fn); },
  };
})();

// The bell: a notification for this user (assigned, mentioned, customer replied) raises the
// unread count and shows a short toast linking to the ticket.
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
    toast.href = config.ticket_url + n.number;
    toast.textContent = (config.text[n.kind] || n.kind) + ": #" + n.number + " " + n.subject;
    toasts.appendChild(toast);
    setTimeout(function () { toast.remove(); }, 8000);
  });
})();
