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
