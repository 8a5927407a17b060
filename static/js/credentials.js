// The wallet's "Copy link" buttons: copy the public verification URL and say so.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var label = button.textContent;
    function done(text) {
      button.textContent = text;
      window.setTimeout(function () { button.textContent = label; }, 2000);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(button.getAttribute("data-copy")).then(
        function () { done("Link copied"); },
        function () { done("Copy failed: use the page link"); }
      );
    } else {
      done("Copy failed: use the page link");
    }
  });
})();
