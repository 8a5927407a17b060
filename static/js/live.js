// The live room's client: one WebSocket, server-rendered fragments swapped in by id, catch-up
// by sequence number. Protocol: docs/live-protocol.md. No framework, no inline script (CSP).
(function () {
  "use strict";

  var FINAL = { 4401: "Sign in again to join.", 4403: "You are not part of this session.",
    4404: "No such session.", 4410: "This session has ended." };
  var ACK_AFTER_MS = 500;
  var ACK_EVERY = 50;

  function LiveRoom(root) {
    this.root = root;
    this.url = (window.location.protocol === "https:" ? "wss://" : "ws://") +
      window.location.host + root.dataset.liveUrl;
    this.status = document.getElementById("live-status");
    this.errors = document.getElementById("live-errors");
    this.seq = -1;          // last sequence number applied; -1 until the first state
    this.syncing = true;    // waiting for a state snapshot
    this.delay = 1000;
    this.unacked = 0;
    this.ackTimer = null;
    this.holdUntil = 0;
    this.finished = false;
  }

  LiveRoom.prototype.setStatus = function (state, text) {
    if (!this.status) { return; }
    this.status.dataset.state = state;
    this.status.textContent = text;
  };

  LiveRoom.prototype.open = function () {
    var room = this;
    var socket = new WebSocket(this.url);
    this.socket = socket;
    this.syncing = true;
    socket.addEventListener("open", function () {
      room.delay = 1000;
      room.setStatus("connected", "Connected");
    });
    socket.addEventListener("message", function (event) { room.receive(event.data); });
    socket.addEventListener("close", function (event) {
      if (room.socket !== socket) { return; }
      room.socket = null;
      if (FINAL[event.code]) {
        room.finished = true;
        room.setStatus(event.code === 4410 ? "ended" : "refused", FINAL[event.code]);
        room.disableForms();
        return;
      }
      var wait = event.code === 4425 ? 30000 : room.delay;
      wait = Math.max(wait, room.holdUntil - Date.now());
      room.setStatus("reconnecting", "Reconnecting…");
      window.setTimeout(function () { room.open(); }, wait);
      room.delay = Math.min(room.delay * 2, 30000);
    });
  };

  LiveRoom.prototype.send = function (payload) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
      this.showError("Not connected; try again in a moment.");
      return false;
    }
    this.socket.send(JSON.stringify(payload));
    return true;
  };

  LiveRoom.prototype.receive = function (raw) {
    var data;
    try { data = JSON.parse(raw); } catch (e) { return; }
    if (data.type === "error") { this.showError(errorText(data)); return; }
    if (data.type === "state") {
      this.syncing = false;
      this.seq = data.seq;
      this.apply(data.html);
      this.acknowledge(true);
      return;
    }
    if (typeof data.seq !== "number") { this.apply(data.html); return; }  // for this user only
    if (this.syncing) { return; }  // the coming snapshot holds it
    this.unacked += 1;
    this.acknowledge(false);
    if (data.refresh) {
      // A whole panel as of data.seq: apply it unless we have missed something before it.
      if (data.seq > this.seq) { this.resync(); return; }
      if (data.seq < this.seq) { return; }  // computed before something newer: stale
      this.apply(data.html);
      return;
    }
    if (data.seq <= this.seq) { return; }             // already have it
    if (data.seq > this.seq + 1) { this.resync(); return; }  // missed one: catch up
    this.seq = data.seq;
    this.apply(data.html);
  };

  LiveRoom.prototype.resync = function () {
    this.syncing = true;
    this.send({ type: "sync" });
  };

  LiveRoom.prototype.acknowledge = function (now) {
    var room = this;
    if (now || this.unacked >= ACK_EVERY) {
      window.clearTimeout(this.ackTimer);
      this.ackTimer = null;
      this.unacked = 0;
      if (this.socket && this.socket.readyState === WebSocket.OPEN) {
        this.socket.send(JSON.stringify({ type: "ack", seq: this.seq }));
      }
      return;
    }
    if (!this.ackTimer) {
      this.ackTimer = window.setTimeout(function () {
        room.ackTimer = null;
        room.acknowledge(true);
      }, ACK_AFTER_MS);
    }
  };

  LiveRoom.prototype.apply = function (html) {
    if (typeof html !== "string" || !html) { return; }
    this.swap(html);
    this.markQuestions();
  };

  // hx-swap-oob fragments: "true" replaces the element with the same id; "beforeend:#id" and
  // "afterbegin:#id" add the fragment's children to that element. New content goes through
  // htmx.process so any hx- attributes in it work.
  LiveRoom.prototype.swap = function (html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    var nodes = Array.prototype.slice.call(template.content.children);
    nodes.forEach(function (node) {
      var how = node.getAttribute("hx-swap-oob") || "true";
      node.removeAttribute("hx-swap-oob");
      var colon = how.indexOf(":");
      if (how === "true" || how === "outerHTML") {
        var current = node.id && document.getElementById(node.id);
        if (current) { current.replaceWith(node); processed(node); }
        return;
      }
      if (colon > 0) {
        var style = how.slice(0, colon);
        var target = document.querySelector(how.slice(colon + 1));
        if (!target) { return; }
        Array.prototype.slice.call(node.children).forEach(function (child) {
          var old = child.id && document.getElementById(child.id);
          if (old) { old.replaceWith(child); }
          else if (style === "afterbegin") { target.insertBefore(child, target.firstChild); }
          else { target.appendChild(child); }
          processed(child);
        });
        if (target.id === "live-chat-list") { target.scrollTop = target.scrollHeight; }
      }
    });
  };

  // The question list is one fragment for every learner; which questions are this user's own
  // and which they upvoted arrives for them alone (#live-my-questions: in the state, and in
  // `my_questions` after they ask or upvote). Each open question carries every state its
  // upvote control can be in, rendered by the server; this shows the one that applies.
  LiveRoom.prototype.markQuestions = function () {
    var mine = document.getElementById("live-my-questions");
    var list = document.getElementById("live-questions");
    if (!mine || !list) { return; }
    var asked = (mine.dataset.asked || "").split(" ");
    var upvoted = (mine.dataset.upvoted || "").split(" ");
    list.querySelectorAll("[data-question-id]").forEach(function (item) {
      var id = item.dataset.questionId;
      var marks = item.querySelectorAll("[data-question-mark]");
      var state = asked.indexOf(id) >= 0 ? "asked" : upvoted.indexOf(id) >= 0 ? "upvoted" : "open";
      var shown = Array.prototype.some.call(marks, function (mark) {
        return mark.dataset.questionMark === state;
      });
      if (!shown) { return; }  // rendered for this user already (a state): leave it as it is
      marks.forEach(function (mark) { mark.hidden = mark.dataset.questionMark !== state; });
    });
  };

  function processed(node) {
    if (window.htmx && window.htmx.process) { window.htmx.process(node); }
  }

  LiveRoom.prototype.showError = function (text) {
    if (!this.errors) { return; }
    var item = document.createElement("p");
    item.className = "live-error";
    item.textContent = text;
    this.errors.appendChild(item);
    window.setTimeout(function () { item.remove(); }, 8000);
  };

  LiveRoom.prototype.disableForms = function () {
    this.root.classList.add("live-room--finished");
    this.root.querySelectorAll("[data-live-form] button, [data-live-send]").forEach(function (el) {
      el.disabled = true;
    });
  };

  // Cut the connection and stay away for `ms` (used to rehearse a dropped network).
  LiveRoom.prototype.drop = function (ms) {
    this.holdUntil = Date.now() + (ms || 0);
    if (this.socket) { this.socket.close(4000, "client reconnecting"); }
  };

  // "Check the message fields." says little alone: add what each field's message says.
  function errorText(data) {
    var text = data.message || data.error;
    var fields = data.fields || {};
    Object.keys(fields).forEach(function (name) {
      if (Array.isArray(fields[name])) { text += " " + fields[name].join(" "); }
    });
    return text;
  }

  function formPayload(form) {
    var payload = { type: form.dataset.liveForm };
    var arrays = (form.dataset.liveArray || "").split(" ").filter(Boolean);
    arrays.forEach(function (name) { payload[name] = []; });
    new FormData(form).forEach(function (value, name) {
      if (arrays.indexOf(name) >= 0) { payload[name].push(value); }
      else if (value === "true") { payload[name] = true; }
      else { payload[name] = value; }
    });
    return payload;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("live-room");
    if (!root || !("WebSocket" in window)) { return; }
    var room = new LiveRoom(root);
    window.flipsideLive = room;

    root.addEventListener("submit", function (event) {
      var form = event.target.closest("[data-live-form]");
      if (!form) { return; }
      event.preventDefault();
      if (room.send(formPayload(form)) && form.hasAttribute("data-live-reset")) { form.reset(); }
    });
    root.addEventListener("click", function (event) {
      var button = event.target.closest("[data-live-send]");
      if (!button) { return; }
      var payload;
      try { payload = JSON.parse(button.dataset.liveSend); } catch (e) { return; }
      room.send(payload);
    });
    room.open();
  });
})();
