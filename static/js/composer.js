// The reply composer's helpers: an @mention list (an internal note notifies the colleagues it
// names, see services/notifications.py) and a knowledge-base panel that links or quotes a
// published article at the cursor.
//
// Korean input: while a Hangul syllable is being composed the IME owns the keyboard, so keys
// pressed then are never taken from it (the syllable would be lost), and the list filters on
// the syllables settled so far: "김짓" may still become "김지수", so it looks for "김지".
(function () {
  "use strict";
  const configEl = document.getElementById("ticket-config");
  const composer = document.querySelector("form.composer");
  const body = composer ? composer.querySelector("textarea[name=body]") : null;
  if (!configEl || !body) return;
  const config = JSON.parse(configEl.textContent);
  const JSON_HEADERS = { Accept: "application/json" };

  // Replace body[start, end) with text, leave the caret after it, and tell the page's other
  // listeners (typing presence, collision checks) that the draft changed.
  function insertAt(start, end, text) {
    body.focus();
    body.setRangeText(text, start, end, "end");
    body.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // ---- @mentions ---------------------------------------------------------------------------
  const list = document.getElementById("mention-list");
  const MENTION = /(^|\s)@([^\s@]{0,40})$/; // "@" at a word start, then the name typed so far
  let composing = false;
  let pickWhenComposed = false;
  let users = [];
  let active = -1;
  let asked = 0; // answers to older questions are dropped: the agent kept typing

  body.setAttribute("aria-controls", "mention-list");
  body.setAttribute("aria-autocomplete", "list");
  body.setAttribute("aria-expanded", "false");

  function mentionToken() {
    if (body.selectionStart !== body.selectionEnd) return null;
    const before = body.value.slice(0, body.selectionStart);
    const match = MENTION.exec(before);
    if (!match) return null;
    return { start: before.length - match[2].length - 1, end: before.length, query: match[2] };
  }

  // What the query can be trusted to start with while the IME is still composing its end.
  function settled(query) {
    if (!composing || !query) return query;
    const last = query.charCodeAt(query.length - 1);
    if (last >= 0x3131 && last <= 0x318e) return query.slice(0, -1); // a lone jamo (ㅈ)
    if (last >= 0xac00 && last <= 0xd7a3) {
      const final = (last - 0xac00) % 28; // its final consonant may start the next syllable
      if (final) return query.slice(0, -1) + String.fromCharCode(last - final);
    }
    return query;
  }

  function closeList() {
    list.hidden = true;
    list.replaceChildren();
    users = [];
    active = -1;
    pickWhenComposed = false;
    delete body.dataset.suggesting;
    body.setAttribute("aria-expanded", "false");
    body.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    active = index;
    Array.prototype.forEach.call(list.children, function (li, i) {
      li.setAttribute("aria-selected", i === active ? "true" : "false");
      li.classList.toggle("active", i === active);
    });
    if (active >= 0) body.setAttribute("aria-activedescendant", "mention-" + users[active].id);
  }

  function showList(found) {
    users = found;
    if (!found.length) { closeList(); return; }
    list.replaceChildren.apply(list, found.map(function (user, i) {
      const li = document.createElement("li");
      li.id = "mention-" + user.id;
      li.setAttribute("role", "option");
      li.dataset.username = user.username;
      const name = document.createElement("strong");
      name.textContent = user.name;
      const handle = document.createElement("span");
      handle.className = "username";
      handle.textContent = "@" + user.username;
      li.append(name, " ", handle);
      // mousedown, not click: the textarea keeps its focus and its caret.
      li.addEventListener("mousedown", function (event) { event.preventDefault(); pick(i); });
      return li;
    }));
    list.hidden = false;
    body.dataset.suggesting = "open";
    body.setAttribute("aria-expanded", "true");
    highlight(0);
  }

  function pick(index) {
    const user = users[index];
    const token = mentionToken();
    closeList();
    if (user && token) insertAt(token.start, token.end, "@" + user.username + " ");
  }

  function suggest() {
    const token = mentionToken();
    if (!token) { closeList(); return; }
    const question = ++asked;
    fetch(config.suggest_url + "?q=" + encodeURIComponent(settled(token.query)), {
      credentials: "same-origin", headers: JSON_HEADERS,
    })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (found) {
        if (question !== asked || !mentionToken()) return;
        showList(found);
        if (pickWhenComposed && !composing) pick(active);
      })
      .catch(function () { closeList(); });
  }

  body.addEventListener("input", suggest); // fires during a composition too, with its text
  body.addEventListener("compositionstart", function () { composing = true; });
  body.addEventListener("compositionend", function () { composing = false; suggest(); });
  body.addEventListener("blur", function () { closeList(); });
  body.addEventListener("click", suggest);

  // Capture phase: this runs before ticket.js's Ctrl+Enter handler on the same textarea, so
  // Enter with the list open picks a colleague and never sends.
  body.addEventListener("keydown", function (event) {
    if (list.hidden) return;
    if (event.isComposing || event.keyCode === 229) return; // the IME's key: keep the syllable
    if (event.key === "ArrowDown") highlight((active + 1) % users.length);
    else if (event.key === "ArrowUp") highlight((active - 1 + users.length) % users.length);
    else if (event.key === "Enter" || event.key === "Tab") pick(active);
    else if (event.key === "Escape") closeList();
    else return;
    event.preventDefault();
    event.stopImmediatePropagation();
  }, true);

  // An Enter that ended a composition (the IME took its keydown) still tries to add a line
  // break afterwards on some systems: with the list open it picks instead.
  body.addEventListener("beforeinput", function (event) {
    if (list.hidden || (event.inputType !== "insertLineBreak" && event.inputType !== "insertParagraph")) return;
    event.preventDefault();
    if (composing) pickWhenComposed = true; else pick(active);
  });

  // ---- knowledge base ------------------------------------------------------------------------
  const toggle = document.getElementById("kb-toggle");
  const panel = document.getElementById("kb-panel");
  if (!toggle || !panel) return;
  const search = document.getElementById("kb-q");
  const results = document.getElementById("kb-results");
  const status = document.getElementById("kb-status");
  let searched = 0;
  let searchTimer = null;
  let searchComposing = false;
  let touched = false; // before the agent ever put the caret in the draft, insert at its end
  body.addEventListener("focus", function () { touched = true; });

  toggle.addEventListener("click", function () {
    panel.hidden = !panel.hidden;
    toggle.setAttribute("aria-expanded", panel.hidden ? "false" : "true");
    if (!panel.hidden) search.focus();
  });

  // At the caret the draft had when the agent left it (a textarea keeps its selection).
  function insertIntoDraft(text) {
    const start = touched ? body.selectionStart : body.value.length;
    const end = touched ? body.selectionEnd : body.value.length;
    const before = body.value.slice(0, start);
    const pad = before && !/\s$/.test(before) ? " " : "";
    insertAt(start, end, pad + text);
  }

  function button(kind, label, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.insert = kind;
    b.className = "secondary";
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  function showResults(items) {
    status.textContent = items.length ? "" : config.text.kb_none;
    results.replaceChildren.apply(results, items.map(function (item) {
      const li = document.createElement("li");
      li.className = "kb-result";
      li.dataset.articleId = item.article_id;
      const title = document.createElement("strong");
      title.className = "kb-title";
      title.innerHTML = item.title_html; // escaped by the server, with <mark> around matches
      li.appendChild(title);
      if (item.internal) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = config.text.kb_internal;
        li.appendChild(badge);
      }
      const snippet = document.createElement("p");
      snippet.className = "kb-snippet";
      snippet.innerHTML = item.snippet; // escaped by the server, with <mark> around matches
      li.appendChild(snippet);
      const actions = document.createElement("div");
      actions.className = "kb-actions";
      actions.appendChild(button("link", config.text.kb_link, function () { insertIntoDraft(item.url); }));
      actions.appendChild(button("text", config.text.kb_text, function () {
        fetch(item.text_url, { credentials: "same-origin", headers: JSON_HEADERS })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (article) { if (article) insertIntoDraft(article.text); })
          .catch(function () {});
      }));
      li.appendChild(actions);
      return li;
    }));
  }

  function runSearch() {
    clearTimeout(searchTimer);
    const text = search.value.trim();
    const question = ++searched;
    if (!text) { results.replaceChildren(); status.textContent = ""; return; }
    fetch(config.kb_url + "?q=" + encodeURIComponent(text), {
      credentials: "same-origin", headers: JSON_HEADERS,
    })
      .then(function (r) { return r.json(); })
      .then(function (answer) {
        if (question !== searched) return;
        if (answer.error) { status.textContent = answer.error; results.replaceChildren(); return; }
        showResults(answer.items);
      })
      .catch(function () {});
  }

  search.addEventListener("compositionstart", function () { searchComposing = true; });
  search.addEventListener("compositionend", function () { searchComposing = false; runSearch(); });
  search.addEventListener("input", function () {
    if (searchComposing) return; // half a syllable finds nothing useful: wait for it
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, 250);
  });
  search.addEventListener("keydown", function (event) {
    if (event.isComposing || event.keyCode === 229) return;
    if (event.key === "Enter") { event.preventDefault(); runSearch(); }
    else if (event.key === "Escape") { panel.hidden = true; toggle.setAttribute("aria-expanded", "false"); body.focus(); }
  });
})();
