// "Copy link" on the wallet and the credential page: copy the public verification URL and say
// so, on the button and in the card's status line (announced by screen readers).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var label = button.textContent;
    var holder = button.closest(".share, .wallet__body");
    var status = holder ? holder.querySelector("[data-copy-status]") : null;
    function done(text, detail) {
      button.textContent = text;
      if (status) { status.textContent = detail; }
      window.setTimeout(function () { button.textContent = label; }, 2000);
    }
    var url = button.getAttribute("data-copy");
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(url).then(
        function () { done("Link copied", "Link copied: " + url); },
        function () { done("Copy failed", "Copy failed: select the link below and copy it."); }
      );
    } else {
      done("Copy failed", "Copy failed: select the link below and copy it.");
    }
  });
})();
