// Reports how far a learner has got in a video or podcast, so they can resume and so that
// watching to the end completes it. Sends at most every 15 s while playing, and on pause/end.
(function () {
  "use strict";
  var INTERVAL = 15000;

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; }
    catch (e) { return ""; }
  }

  function track(media) {
    var url = media.dataset.progressUrl;
    var lastSent = 0;
    var start = parseInt(media.dataset.start || "0", 10);

    function send(force) {
      var now = Date.now();
      if (!force && now - lastSent < INTERVAL) { return; }
      lastSent = now;
      var body = new URLSearchParams();
      body.set("position", String(Math.floor(media.currentTime)));
      if (isFinite(media.duration) && media.duration > 0) {
        body.set("duration", String(Math.ceil(media.duration)));
      }
      fetch(url, {
        method: "POST",
        body: body,
        headers: { "X-CSRFToken": csrfToken() },
        credentials: "same-origin",
        keepalive: true
      }).then(function (response) {
        return response.ok ? response.text() : "";
      }).then(function (text) {
        if (text === "done") { document.dispatchEvent(new CustomEvent("flipside:resource-done")); }
      }).catch(function () { /* offline: the next report carries the furthest point */ });
    }

    media.addEventListener("loadedmetadata", function () {
      if (start > 0 && start < media.duration - 5) { media.currentTime = start; }
    });
    media.addEventListener("timeupdate", function () { send(false); });
    media.addEventListener("pause", function () { send(true); });
    media.addEventListener("ended", function () { send(true); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("video[data-progress-url], audio[data-progress-url]").forEach(track);
  });
})();
