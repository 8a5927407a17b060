// Flipside's own small client: per-user notifications over a WebSocket, reconnecting with backoff.
(function () {
  "use strict";

  function connectNotifications(path, region) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var delay = 1000;
    var socket;

    function open() {
      socket = new WebSocket(scheme + window.location.host + path);
      socket.addEventListener("open", function () { delay = 1000; });
      socket.addEventListener("message", function (event) {
        var data;
        try { data = JSON.parse(event.data); } catch (e) { return; }
        if (data.type === "notification" && typeof data.html === "string") {
          region.insertAdjacentHTML("beforeend", data.html);
        }
      });
      socket.addEventListener("close", function (event) {
        if (event.code === 4401) { return; } // signed out: do not knock again
        window.setTimeout(open, delay);
        delay = Math.min(delay * 2, 30000);
      });
    }
    open();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss]");
    if (button) { button.parentElement.remove(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var path = document.body.dataset.notificationsUrl;
    var region = document.getElementById("notifications");
    if (path && region && "WebSocket" in window) { connectNotifications(path, region); }
  });
})();
