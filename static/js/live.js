// Live updates for the plain staff pages: the queue shows a refresh banner when tickets change,
// the ticket page when someone else adds to the conversation. The full live workspace builds on
// the same Socket.IO rooms.
(function () {
  "use strict";
  if (typeof io !== "function") return;
  const socket = io({ transports: ["websocket", "polling"] });
  const banner = document.getElementById("live-banner");
  const queue = document.querySelector("[data-live-queue]");
  const ticketEl = document.querySelector(".ticket[data-ticket-id]");

  // The banner's text comes translated from the template.
  function showBanner() {
    if (banner) banner.hidden = false;
  }

  if (queue) {
    const refresh = () => showBanner();
    socket.on("ticket.created", refresh);
    socket.on("ticket.updated", refresh);
    socket.on("ticket.merged", refresh);
  }
  if (ticketEl) {
    const room = "ticket:" + ticketEl.dataset.ticketId;
    const subscribe = () => socket.emit("subscribe", { room: room });
    socket.on("connect", subscribe);
    socket.on("message.added", showBanner);
    socket.on("ticket.updated", showBanner);
  }
})();
