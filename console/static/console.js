// The advocate console's only script (the CSP allows no inline script): keeps the queue and the
// conversation up to date, shows times in the advocate's own time zone, counts reply characters.
// Every value goes into the page as text (textContent), never as HTML.
// Polling does not keep the session alive (console/sessions.py): a poll says X-Console-Activity: 1
// only when the advocate typed, clicked or scrolled since the last one, and when the server says
// the session is over (401) the page goes to sign-in, so nothing stays on an unattended screen.
"use strict";

(function () {
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function localTime(iso) {
    var date = new Date(iso);
    return isNaN(date) ? "" : date.toLocaleString([], {month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"});
  }

  function localizeTimes(root) {
    root.querySelectorAll("time[data-local]").forEach(function (node) {
      var text = localTime(node.getAttribute("datetime"));
      if (text) { node.textContent = text; }
    });
  }

  var actedSincePoll = false;
  ["keydown", "pointerdown", "wheel"].forEach(function (kind) {
    document.addEventListener(kind, function () { actedSincePoll = true; }, {capture: true, passive: true});
  });

  function toSignIn() {
    window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
  }

  function poll(url, seconds, onData, onSignedOut) {
    function tick() {
      var headers = {"Accept": "application/json"};
      if (actedSincePoll) { headers["X-Console-Activity"] = "1"; }
      actedSincePoll = false;
      fetch(url, {credentials: "same-origin", headers: headers, cache: "no-store"})
        .then(function (response) {
          if (response.status === 401) { onSignedOut(); toSignIn(); return null; }
          return response.ok ? response.json() : null;
        })
        .then(function (data) { if (data) { onData(data); } })
        .catch(function () { /* the next tick tries again */ })
        .then(function () { window.setTimeout(tick, seconds * 1000); });
    }
    window.setTimeout(tick, seconds * 1000);
  }

  // The queue: rebuild both tables from /queue.json.
  function queueRow(row) {
    var tr = el("tr", {"class": "priority-" + row.priority});
    var link = el("a", {href: row.url}, "#" + row.id + " · " + row.handle);
    var cells = [
      ["Handoff", link],
      ["Priority", el("span", {"class": "badge badge-" + row.priority}, row.priority)],
      ["Detected", row.reason],
      ["Channel", row.channel + (row.language ? " · " + row.language : "")],
      ["Age", el("time", {datetime: row.created_at}, row.age)],
      ["Status", row.status_label + (row.claimed_by ? " (" + row.claimed_by + ")" : "") +
                 (row.told_unclaimed ? "; told to use the 24/7 lines" : "") +
                 (row.declined ? "; the survivor said no advocate: review" : "")]
    ];
    cells.forEach(function (cell) {
      var td = el("td", {"data-label": cell[0]});
      if (typeof cell[1] === "string") { td.textContent = cell[1]; } else { td.appendChild(cell[1]); }
      tr.appendChild(td);
    });
    return tr;
  }

  function fillTable(id, rows, empty) {
    var body = document.querySelector("#" + id + " tbody");
    if (!body) { return; }
    var fresh = document.createDocumentFragment();
    if (!rows.length) {
      var tr = el("tr", {"class": "empty"});
      tr.appendChild(el("td", {colspan: "6"}, empty));
      fresh.appendChild(tr);
    }
    rows.forEach(function (row) { fresh.appendChild(queueRow(row)); });
    body.replaceChildren(fresh);
  }

  function startQueue(root) {
    var seconds = Number(root.getAttribute("data-poll-seconds")) || 5;
    poll(root.getAttribute("data-queue"), seconds, function (data) {
      fillTable("waiting", data.waiting, "Nobody is waiting.");
      fillTable("active", data.active, "None.");
      document.getElementById("waiting-count").textContent = "(" + data.waiting.length + ")";
      document.getElementById("active-count").textContent = "(" + data.active.length + ")";
      var shift = document.getElementById("shift-state");
      if (shift && data.shift) {
        shift.textContent = data.shift.text;
        shift.className = "shift shift-" + data.shift.state;
      }
      document.title = (data.waiting.length ? "(" + data.waiting.length + ") " : "") + "Queue · Advocate console";
    }, function () {
      document.getElementById("signed-out").hidden = false;
    });
  }

  // One conversation: add what was said since the page was drawn.
  var SPEAKERS = {survivor: "Survivor", bot: "Bot"};

  function transcriptLine(line) {
    var li = el("li", {"class": "line line-" + line.who});
    var stamp = el("time", {datetime: line.at, "data-local": ""}, localTime(line.at));
    if (line.who === "paused" || line.who === "resumed") {
      var event = el("p", {"class": "event"},
        (line.who === "paused" ? "Bot paused: an advocate has the conversation" : "Bot resumed") + " · ");
      event.appendChild(stamp);
      li.appendChild(event);
      return li;
    }
    var meta = el("p", {"class": "meta"});
    meta.appendChild(el("span", {"class": "who"}, SPEAKERS[line.who] || (line.advocate + " (advocate)")));
    meta.appendChild(document.createTextNode(" · "));
    meta.appendChild(stamp);
    li.appendChild(meta);
    li.appendChild(el("p", {"class": "text"}, line.text));
    if (line.buttons && line.buttons.length) {
      li.appendChild(el("p", {"class": "buttons"}, "Buttons: " + line.buttons.join(" · ")));
    }
    return li;
  }

  function startTranscript(list) {
    var seconds = Number(list.getAttribute("data-poll-seconds")) || 5;
    var note = document.getElementById("transcript-note");
    poll(list.getAttribute("data-transcript"), seconds, function (data) {
      var shown = list.children.length;
      data.lines.slice(shown).forEach(function (line) { list.appendChild(transcriptLine(line)); });
      if (data.status !== list.getAttribute("data-status")) {
        note.textContent = "This handoff changed since the page was drawn. Reload the page to see what you can do now.";
        note.hidden = false;
      }
    }, function () {
      note.textContent = "You are signed out, so this conversation is not updating. Reload to sign in again.";
      note.hidden = false;
    });
  }

  function startCounter(target) {
    var box = document.getElementById(target.getAttribute("data-counter-for"));
    var limit = Number(box.getAttribute("maxlength"));
    function update() { target.textContent = (limit - box.value.length) + " characters left."; }
    box.addEventListener("input", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    localizeTimes(document);
    var queue = document.querySelector("[data-queue]");
    if (queue) { startQueue(queue); }
    var transcript = document.querySelector("[data-transcript]");
    if (transcript) { startTranscript(transcript); }
    document.querySelectorAll("[data-counter-for]").forEach(startCounter);
  });
})();
