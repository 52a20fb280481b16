/*
 * The survivor resource navigator's web chat widget.
 *
 * Embed it with one tag (it loads its stylesheet and talks only to the server it came from):
 *   <script src="https://NAVIGATOR/webchat/widget.js" defer
 *           data-exit-url="https://www.google.com/" data-container="#chat"></script>
 * data-exit-url: the neutral site the quick exit opens; data-container: an element to show the
 * chat in (without it, the chat floats at the bottom right).
 *
 * Safety: nothing from another host; no inline script or style (works under a strict CSP);
 * the only things stored are the session id and its resume secret, in sessionStorage (this tab
 * only), removed on exit and on erase. The id alone resumes nothing (it is shown to advocates
 * and in logs): the server lets a tab back into its conversation only with the secret it gave it.
 * The quick exit (the first button on the page, or Esc twice) clears the chat and replaces the
 * page, so Back does not return to it. "Erase chat" (after a yes in the chat itself) has the
 * server delete the conversation from its records, then starts a new, empty one. What an
 * advocate (a person) writes is labelled and styled as theirs. Every word shown comes from the
 * server (domain.yml).
 */
(function () {
  "use strict";

  var WORDS = /*WORDS*/{};
  var SESSION_KEY = "navigator-webchat-session";
  var SECRET_KEY = "navigator-webchat-secret";
  var ESCAPE_TWICE_MS = 1000;
  var HEARTBEAT_MS = 15000; /* a connection silent for 3 heartbeats is dead: reconnect */
  var script = document.currentScript;
  if (!script || window.navigatorWebChat) {
    return;
  }
  var server = new URL(script.src, window.location.href);
  var exitUrl = script.getAttribute("data-exit-url") || "https://www.google.com/";
  var containerSelector = script.getAttribute("data-container");

  var socket = null;
  var ready = false;
  var leaving = false;
  var erasing = false; /* the person said yes to "Erase chat": until the server says "erased" */
  var botSeen = 0;
  var outbox = [];
  var waiting = {};
  var attempt = 0;
  var reconnectTimer = null;
  var lastEscape = 0;
  var nextId = 1;
  var lastHeard = 0;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  function storedSession() {
    try {
      return window.sessionStorage.getItem(SESSION_KEY);
    } catch (e) {
      return null;
    }
  }

  function storedSecret() {
    try {
      return window.sessionStorage.getItem(SECRET_KEY);
    } catch (e) {
      return null;
    }
  }

  /* A new session comes with its secret; a resumed one does not (this tab has it already). */
  function storeSession(id, secret) {
    try {
      window.sessionStorage.setItem(SESSION_KEY, id);
      if (secret) {
        window.sessionStorage.setItem(SECRET_KEY, secret);
      }
    } catch (e) { /* private mode: the chat still works, a reload starts afresh */ }
  }

  function forgetSession() {
    try {
      window.sessionStorage.removeItem(SESSION_KEY);
      window.sessionStorage.removeItem(SECRET_KEY);
    } catch (e) { /* nothing was stored */ }
  }

  /* ---- the page: quick exit first in the tab order, then the chat panel ---- */

  var stylesheet = element("link");
  stylesheet.rel = "stylesheet";
  stylesheet.href = new URL("widget.css", server).href;
  document.head.appendChild(stylesheet);

  var exitButton = element("button", "nvc-exit", WORDS.exit);
  exitButton.type = "button";
  exitButton.title = WORDS.exitHint;
  document.body.insertBefore(exitButton, document.body.firstChild);

  var panel = element("section", "nvc-panel");
  panel.setAttribute("aria-labelledby", "nvc-title");
  var head = element("div", "nvc-head");
  var title = element("h2", "nvc-title", WORDS.title);
  title.id = "nvc-title";
  var eraseButton = element("button", "nvc-erase", WORDS.erase);
  eraseButton.type = "button";
  eraseButton.setAttribute("aria-controls", "nvc-confirm");
  eraseButton.setAttribute("aria-expanded", "false");
  head.appendChild(title);
  head.appendChild(eraseButton);
  var hint = element("p", "nvc-hint", WORDS.exitHint);
  /* The yes-or-no of "Erase chat", in the chat itself (no browser pop-up). */
  var confirmBox = element("div", "nvc-confirm");
  confirmBox.id = "nvc-confirm";
  confirmBox.setAttribute("role", "alertdialog");
  confirmBox.setAttribute("aria-labelledby", "nvc-confirm-question");
  confirmBox.hidden = true;
  var question = element("p", "nvc-confirm-question", WORDS.eraseQuestion);
  question.id = "nvc-confirm-question";
  var eraseYes = element("button", "nvc-erase-yes", WORDS.eraseYes);
  eraseYes.type = "button";
  var eraseNo = element("button", "nvc-erase-no", WORDS.eraseNo);
  eraseNo.type = "button";
  confirmBox.appendChild(question);
  confirmBox.appendChild(eraseYes);
  confirmBox.appendChild(eraseNo);
  var log = element("div", "nvc-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-labelledby", "nvc-title");
  log.tabIndex = 0; /* a keyboard can scroll it */
  var status = element("p", "nvc-status");
  status.setAttribute("role", "status");
  var form = element("form", "nvc-form");
  var label = element("label", "nvc-label", WORDS.input);
  label.htmlFor = "nvc-input";
  var input = element("input", "nvc-input");
  input.id = "nvc-input";
  input.type = "text";
  input.autocomplete = "off";
  input.maxLength = 4000; /* the server reads 1,600 characters and says so when there were more;
                             a frame always stays under its 32 KiB limit */
  input.setAttribute("enterkeyhint", "send");
  var sendButton = element("button", "nvc-send", WORDS.send);
  sendButton.type = "submit";
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(sendButton);
  panel.appendChild(head);
  panel.appendChild(hint);
  panel.appendChild(confirmBox);
  panel.appendChild(log);
  panel.appendChild(status);
  panel.appendChild(form);

  var container = containerSelector ? document.querySelector(containerSelector) : null;
  if (container) {
    panel.classList.add("nvc-inline");
    container.appendChild(panel);
  } else {
    panel.classList.add("nvc-floating");
    document.body.appendChild(panel);
  }

  /* ---- messages ---- */

  var PHONE = /(\+?1[-. ]?)?\(?\d{3}\)?[-. ]?\d{3,4}[-. ]?\d{4}/g;

  /* Text with phone numbers as tap-to-call links; never parsed as HTML. */
  function appendText(node, text) {
    var last = 0;
    text.replace(PHONE, function (match, _country, offset) {
      node.appendChild(document.createTextNode(text.slice(last, offset)));
      var link = element("a", "nvc-phone", match);
      link.href = "tel:" + match.replace(/[^\d+]/g, "");
      node.appendChild(link);
      last = offset + match.length;
      return match;
    });
    node.appendChild(document.createTextNode(text.slice(last)));
  }

  var SPEAKERS = { user: WORDS.you, bot: WORDS.helper, advocate: WORDS.advocate };

  /* from: "user", "bot" or "advocate" (a person, through the advocate console). */
  function showMessage(from, text, buttons, extraClass) {
    var item = element("div", "nvc-message nvc-from-" + from + (extraClass ? " " + extraClass : ""));
    item.appendChild(element("span", "nvc-speaker", SPEAKERS[from] + " "));
    var body = element("span", "nvc-text");
    appendText(body, text || "");
    item.appendChild(body);
    if (buttons && buttons.length) {
      var group = element("div", "nvc-choices");
      group.setAttribute("role", "group");
      buttons.forEach(function (choice) {
        var button = element("button", "nvc-choice", choice.title);
        button.type = "button";
        button.addEventListener("click", function () {
          say(choice.payload, choice.title);
          input.focus();
        });
        group.appendChild(button);
      });
      item.appendChild(group);
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function hasConversation() {
    return log.querySelector(".nvc-message:not(.nvc-welcome)") !== null;
  }

  function clearConversation() {
    Array.prototype.slice.call(log.querySelectorAll(".nvc-message:not(.nvc-welcome), .nvc-notice"))
      .forEach(function (node) {
        node.parentNode.removeChild(node);
      });
  }

  function setStatus(text) {
    status.textContent = text || "";
  }

  /* ---- the connection ---- */

  function say(text, shown) {
    text = (text || "").trim();
    if (!text || leaving || erasing) {
      return;
    }
    showMessage("user", shown || text);
    outbox.push({ type: "message", id: String(Date.now()) + "-" + nextId++, text: text });
    flush();
  }

  function flush() {
    while (ready && socket && socket.readyState === WebSocket.OPEN && outbox.length) {
      var frame = outbox.shift();
      waiting[frame.id] = frame;
      socket.send(JSON.stringify(frame));
    }
  }

  function receive(frame) {
    if (frame.type === "session") {
      var asked = storedSession();
      if (asked && asked !== frame.session) {
        /* The server would not resume the session this tab had (erased, purged, ended, or its
           secret lost): what is shown belongs to a conversation this tab can no longer reach. */
        clearConversation();
        botSeen = 0;
      }
      storeSession(frame.session, frame.secret);
      ready = true;
      attempt = 0;
      setStatus("");
      if (erasing) { /* asked before the connection dropped: asked again (the server may have done it) */
        sendErase();
        return;
      }
      /* what was sent but not answered before the connection dropped goes again (the server
         skips what it already had) */
      var unanswered = Object.keys(waiting).map(function (id) { return waiting[id]; });
      waiting = {};
      outbox = unanswered.concat(outbox);
      flush();
    } else if (frame.type === "history") {
      if (frame.full) {
        clearConversation();
        botSeen = 0;
      }
      frame.messages.forEach(function (line) {
        showMessage(line.advocate ? "advocate" : line.from, line.text, line.buttons);
        if (line.from === "bot") {
          botSeen += 1;
        }
      });
    } else if (frame.type === "bot") {
      showMessage(frame.advocate ? "advocate" : "bot", frame.text, frame.buttons);
      if (!frame.note) { /* a note (slow down, an error) is not in the transcript */
        botSeen += 1;
      } else if (erasing) { /* the erase failed (the error words): the chat is as it was */
        erasing = false;
      }
    } else if (frame.type === "done") {
      delete waiting[frame.id];
    } else if (frame.type === "erased") {
      erased();
    }
  }

  function connect() {
    if (leaving) {
      return;
    }
    reconnectTimer = null;
    var url = new URL("socket", server);
    url.protocol = server.protocol === "https:" ? "wss:" : "ws:";
    var ws = new WebSocket(url.href);
    socket = ws;
    ready = false;
    ws.onopen = function () {
      lastHeard = Date.now();
      var session = storedSession();
      ws.send(JSON.stringify({ type: "hello", session: session, secret: session ? storedSecret() : null,
                               seen: botSeen, full: Boolean(session) && !hasConversation() }));
    };
    ws.onmessage = function (event) {
      lastHeard = Date.now();
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (socket === ws) {
        receive(frame);
      }
    };
    ws.onclose = function () {
      if (socket !== ws) {
        return;
      }
      socket = null;
      ready = false;
      if (!leaving) {
        setStatus(WORDS.reconnecting);
        reconnectLater();
      }
    };
  }

  /* Give up on a connection that is dead but not closed (a network that vanished without a
     word can leave a socket open for minutes), and start a new one. */
  function abandon() {
    var ws = socket;
    socket = null;
    ready = false;
    if (ws) {
      try {
        ws.close();
      } catch (e) { /* it is gone either way */ }
    }
    if (!leaving) {
      setStatus(WORDS.reconnecting);
      reconnectLater();
    }
  }

  window.setInterval(function () {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      return;
    }
    if (Date.now() - lastHeard > 3 * HEARTBEAT_MS) {
      abandon();
    } else {
      socket.send(JSON.stringify({ type: "ping" }));
    }
  }, HEARTBEAT_MS);

  function reconnectLater() {
    if (reconnectTimer !== null || leaving) {
      return;
    }
    attempt += 1;
    var delay = Math.min(10000, 500 * Math.pow(2, attempt - 1)) * (0.8 + Math.random() * 0.4);
    reconnectTimer = window.setTimeout(connect, delay);
  }

  window.addEventListener("offline", function () {
    if (socket) {
      abandon();
    }
  });

  window.addEventListener("online", function () {
    if (leaving || (socket && socket.readyState === WebSocket.OPEN)) {
      return;
    }
    if (socket) {
      var stale = socket;
      socket = null;
      try {
        stale.close();
      } catch (e) { /* replaced below */ }
    }
    window.clearTimeout(reconnectTimer);
    reconnectTimer = null;
    attempt = 0;
    connect();
  });

  /* ---- erase chat: the server deletes the conversation, the widget starts a new one ---- */

  function openConfirm() {
    confirmBox.hidden = false;
    eraseButton.setAttribute("aria-expanded", "true");
    eraseNo.focus(); /* the safe answer first */
  }

  function closeConfirm() {
    confirmBox.hidden = true;
    eraseButton.setAttribute("aria-expanded", "false");
  }

  function sendErase() {
    if (ready && socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "erase" }));
    } /* else sent once the connection is back (the "session" frame) */
  }

  function erase() {
    closeConfirm();
    input.focus();
    erasing = true;
    outbox = []; /* not sent yet: nothing to erase, nothing to send */
    sendErase();
  }

  function erased() {
    erasing = false;
    forgetSession();
    clearConversation();
    outbox = [];
    waiting = {};
    botSeen = 0;
    log.appendChild(element("p", "nvc-notice", WORDS.erased));
    log.scrollTop = log.scrollHeight;
    /* The server closes this conversation's sockets; a new, empty conversation starts at once. */
    var old = socket;
    socket = null;
    ready = false;
    if (old) {
      try {
        old.close();
      } catch (e) { /* it is closing anyway */ }
    }
    window.clearTimeout(reconnectTimer);
    reconnectTimer = null;
    attempt = 0;
    connect();
  }

  eraseButton.addEventListener("click", function () {
    if (confirmBox.hidden) {
      openConfirm();
    } else {
      closeConfirm();
    }
  });
  eraseYes.addEventListener("click", erase);
  eraseNo.addEventListener("click", function () {
    closeConfirm();
    eraseButton.focus();
  });
  confirmBox.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { /* Esc answers Keep (and Esc twice still leaves the page) */
      closeConfirm();
      eraseButton.focus();
    }
  });

  /* ---- quick exit ---- */

  function quickExit() {
    leaving = true;
    try {
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: "exit" }));
      }
    } catch (e) { /* leaving matters more than telling the server */ }
    forgetSession();
    log.textContent = "";
    input.value = "";
    outbox = [];
    waiting = {};
    window.location.replace(exitUrl);
  }

  exitButton.addEventListener("click", quickExit);
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var now = Date.now();
    if (now - lastEscape < ESCAPE_TWICE_MS) {
      quickExit();
    }
    lastEscape = now;
  }, true);

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    say(input.value);
    input.value = "";
  });

  showMessage("bot", WORDS.welcome, [], "nvc-welcome");
  setStatus(WORDS.connecting);
  connect();
  window.navigatorWebChat = { exit: quickExit };
})();
