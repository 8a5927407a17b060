// The marking page's "Mark every item Satisfactory" shortcut for long tasks: it ticks S on every
// item's radio group and leaves each item shown, to be read and changed before saving. Without
// JavaScript the button stays hidden and each item is ticked by hand.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var shortcut = document.querySelector("[data-all-satisfactory]");
    if (!shortcut) { return; }
    var form = shortcut.closest("form");
    shortcut.hidden = false;
    shortcut.querySelector("button").addEventListener("click", function () {
      var radios = form.querySelectorAll('.judge input[type="radio"][value="S"]');
      radios.forEach(function (radio) { radio.checked = true; });
      var status = shortcut.querySelector("[data-all-satisfactory-status]");
      if (!status) {
        status = document.createElement("p");
        status.setAttribute("role", "status");
        status.setAttribute("data-all-satisfactory-status", "");
        status.className = "meta";
        shortcut.appendChild(status);
      }
      status.textContent = radios.length + " items ticked Satisfactory. Review each before you record the judgement.";
    });
  });
})();
