// Evidence uploads (templates/assessment/_evidence_upload.html): resumable tus uploads with
// tus-js-client, several files at once, a progress bar each. An upload survives a dropped
// connection (retries, then carries on when the browser is back online) and a closed laptop or
// reloaded page (choosing the same file again resumes it: tus-js-client keeps each upload's URL
// in localStorage under the file's fingerprint). Each finished file tells the evidence list to
// refresh itself (the `flipside:evidence-changed` event on <body>). Without JavaScript, or
// without tus support, the form posts the files the ordinary way.
(function () {
  "use strict";
  if (window.flipsideEvidenceUpload) { return; } // the partial may be included more than once
  window.flipsideEvidenceUpload = true;

  // One PATCH per 64 MiB. Each PATCH costs the server a sign-in, a permission check and the
  // staged upload's lock (about 6 ms of CPU, measured) and the client a round trip; at 16 MiB
  // that was a fifth of the server's CPU for a large video (bench/upload.py: 1.5 s of CPU per
  // GiB against 1.2 s at 64 MiB). The browser sends each part from the file on disk, so the
  // size costs no memory, and the server keeps what arrived of a part cut off (a proxy in front
  // must not buffer request bodies: README). Not larger: a buffering proxy would lose up to a
  // part, and hosted proxies cap a request near 100 MB. bench/upload.py sends parts of the
  // same size.
  var CHUNK_SIZE = 64 * 1024 * 1024;
  var RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000];
  var paused = []; // uploads stopped by a lost connection, restarted when back online

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; }
    catch (e) { return ""; }
  }

  function percent(sent, total) {
    return total ? Math.floor((sent / total) * 100) : 0;
  }

  // The server refuses with a short plain-text sentence meant for the learner; show it as is.
  function explain(error) {
    var response = error && error.originalResponse;
    var status = response ? response.getStatus() : 0;
    // 507: the server is out of space and keeps what it has; its words say the upload can resume.
    if ((status >= 400 && status < 500 && status !== 409 && status !== 423) || status === 507) {
      var body = (response.getBody() || "").trim();
      if (body && body.length < 500 && body.charAt(0) !== "<") { return body; }
      if (status === 403) { return "You may not add files here any more (was the attempt submitted?)."; }
      if (status === 413) { return "The file is too large."; }
    }
    if (!navigator.onLine) {
      return "Connection lost. The upload carries on when you are back online.";
    }
    return "The upload stopped. Choose the same file again to carry on where it left off.";
  }

  function isFinal(error) {
    var response = error && error.originalResponse;
    var status = response ? response.getStatus() : 0;
    return status >= 400 && status < 500 && status !== 409 && status !== 423;
  }

  function row(list, file) {
    var item = document.createElement("li");
    item.className = "upload";
    var name = document.createElement("span");
    name.className = "upload__name";
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + file.name);
    var state = document.createElement("span");
    state.className = "upload__state meta";
    state.textContent = "Starting…";
    item.appendChild(name);
    item.appendChild(bar);
    item.appendChild(state);
    list.appendChild(item);
    return { item: item, bar: bar, state: state };
  }

  // Whether the question takes this kind of file, by the input's `accept` list (MIME types,
  // `video/*` patterns and extensions). The server checks the content again; this only spares
  // the learner sending a large file the question cannot use. A file the browser cannot type
  // is left to the server.
  function acceptable(root, file) {
    var accept = (root.dataset.accept || "").split(",").map(function (s) { return s.trim().toLowerCase(); });
    if (!root.dataset.refusal || !accept.length) { return true; }
    var type = (file.type || "").toLowerCase();
    var name = (file.name || "").toLowerCase();
    if (!type) { return true; }
    return accept.some(function (entry) {
      if (!entry) { return false; }
      if (entry.charAt(0) === ".") { return name.slice(-entry.length) === entry; }
      if (entry.slice(-2) === "/*") { return type.indexOf(entry.slice(0, -1)) === 0; }
      return type === entry;
    });
  }

  function refuse(view, message) {
    view.state.textContent = message;
    view.state.setAttribute("role", "alert");
    view.item.classList.add("upload--failed");
    view.bar.remove();
  }

  function start(root, list, file) {
    var view = row(list, file);
    if (!acceptable(root, file)) {
      refuse(view, root.dataset.refusal);
      return;
    }
    var item = root.dataset.item || "";
    var upload = new window.tus.Upload(file, {
      endpoint: root.dataset.endpoint,
      chunkSize: CHUNK_SIZE,
      retryDelays: RETRY_DELAYS,
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      metadata: { filename: file.name, filetype: file.type || "", item: item },
      headers: { "X-CSRFToken": csrfToken() },
      // The endpoint names the attempt; the question too, so one file can go to two questions.
      fingerprint: function (f, options) {
        return Promise.resolve(
          ["flipside", options.endpoint, item, f.name, f.size, f.lastModified].join("|")
        );
      },
      onProgress: function (sent, total) {
        var p = percent(sent, total);
        view.bar.value = p;
        view.state.textContent = p + "%";
      },
      onSuccess: function () {
        view.bar.value = 100;
        view.state.textContent = "Uploaded";
        view.item.classList.add("upload--done");
        document.body.dispatchEvent(new CustomEvent("flipside:evidence-changed", { bubbles: true }));
      },
      onError: function (error) {
        if (isFinal(error)) {
          // Refused (wrong type, too large, attempt submitted): the server has nothing to resume.
          refuse(view, explain(error));
        } else {
          view.state.textContent = explain(error);
          view.item.classList.add("upload--failed");
          paused.push({ upload: upload, view: view });
        }
      }
    });
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length) {
        upload.resumeFromPreviousUpload(previous[0]);
        view.state.textContent = "Resuming…";
      }
      upload.start();
    });
  }

  function setup(root) {
    if (root.dataset.ready || !window.tus || !window.tus.isSupported) { return; }
    root.dataset.ready = "1";
    var form = root.querySelector("form");
    var input = root.querySelector("input[type=file]");
    var list = root.querySelector("[data-upload-list]");
    var submit = root.querySelector("[data-fallback-submit]");
    // Files go up as soon as they are chosen; the button is for the plain form only. (Removed, not
    // hidden: the .button class sets `display`, which would override the `hidden` attribute.)
    if (submit) { (submit.closest(".actions") || submit).remove(); }
    input.addEventListener("change", function () {
      Array.prototype.forEach.call(input.files, function (file) { start(root, list, file); });
      input.value = "";
    });
    form.addEventListener("submit", function (event) { event.preventDefault(); });
  }

  function setupAll(scope) {
    (scope || document).querySelectorAll("[data-evidence-upload]").forEach(setup);
  }

  window.addEventListener("online", function () {
    var waiting = paused.splice(0, paused.length);
    waiting.forEach(function (entry) {
      entry.view.item.classList.remove("upload--failed");
      entry.view.state.textContent = "Resuming…";
      entry.upload.start();
    });
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setupAll(document); });
  } else {
    setupAll(document);
  }
  // Content swapped in by htmx (its own <script> tags are not run under our CSP).
  document.addEventListener("htmx:load", function (event) { setupAll(event.target); });
})();
