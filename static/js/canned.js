// Saved replies in the reply composer: a panel to search them (beside the knowledge-base
// panel), and a "/" list: "/" at the start of an empty line, then a shortcut, offers the
// matching replies under the draft. The chosen reply is filled in by the server for this
// ticket ({{customer.name}}...) and inserted at the caret, in place of the "/shortcut" typed.
//
// Korean input: while a Hangul syllable is being composed the IME owns the keyboard, so keys
// pressed then are left to it (as composer.js's @mention list does). That last syllable is not
// settled yet: "부" may still become "불", "짓" may become "지" and "수". So the server is asked
// for the settled part only, and the list keeps the replies where the syllable being composed
// could still lead: the same first consonant and vowel.
(function () {
  "use strict";
  const configEl = document.getElementById("ticket-config");
  const panel = document.getElementById("canned-panel");
  const composer = document.querySelector("form.composer");
  const body = composer ? composer.querySelector("textarea[name=body]") : null;
  if (!configEl || !panel || !body) return;
  const config = JSON.parse(configEl.textContent);
  const url = panel.dataset.url;
  const labels = { none: panel.dataset.none, mine: panel.dataset.mine };
  const csrf = composer.querySelector("input[name=csrf_token]");
  const SLASH = /(^|\n)\/([^\s/]{0,40})$/; // "/" opening a line, then the shortcut so far
  const SHOWN = 8;

  function listReplies(query, limit) {
    return fetch(url + "?limit=" + limit + "&q=" + encodeURIComponent(query), {
      credentials: "same-origin", headers: { Accept: "application/json" },
    }).then(function (r) { return r.ok ? r.json() : []; });
  }

  // The reply's text for this ticket, or null (deleted meanwhile, signed out...).
  function renderReply(reply) {
    return fetch(url + "/" + reply.id + "/render", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-CSRFToken": csrf ? csrf.value : "",
      },
      body: JSON.stringify({ ticket_id: config.ticket_id }),
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) { return answer ? answer.body : null; })
      .catch(function () { return null; });
  }

  // Replace body[start, end) with text, leave the caret after it, and tell the page's other
  // listeners (typing presence, collision checks) that the draft changed.
  function insertAt(start, end, text) {
    body.focus();
    body.setRangeText(text, start, end, "end");
    body.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function replyElement(reply, id) {
    const li = document.createElement("li");
    li.id = id;
    li.className = "canned-result";
    li.setAttribute("role", "option");
    li.dataset.cannedReplyId = reply.id;
    const title = document.createElement("strong");
    title.textContent = reply.title;
    li.appendChild(title);
    if (reply.shortcut) {
      const shortcut = document.createElement("span");
      shortcut.className = "canned-shortcut-tag";
      shortcut.textContent = "/" + reply.shortcut;
      li.appendChild(shortcut);
    }
    if (!reply.shared) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = labels.mine;
      li.appendChild(badge);
    }
    const excerpt = document.createElement("p");
    excerpt.className = "canned-excerpt";
    excerpt.textContent = reply.body.slice(0, 160);
    li.appendChild(excerpt);
    return li;
  }

  // A list of replies with one highlighted, shared by the panel and the "/" list.
  function chooser(listEl, idPrefix, onPick) {
    const state = { items: [], active: -1 };
    state.show = function (items) {
      state.items = items;
      listEl.replaceChildren.apply(listEl, items.map(function (reply, i) {
        const li = replyElement(reply, idPrefix + reply.id);
        // mousedown, not click: the textarea keeps its focus and its caret.
        li.addEventListener("mousedown", function (event) { event.preventDefault(); onPick(i); });
        return li;
      }));
      state.highlight(items.length ? 0 : -1);
    };
    state.highlight = function (index) {
      state.active = index;
      Array.prototype.forEach.call(listEl.children, function (li, i) {
        li.setAttribute("aria-selected", i === index ? "true" : "false");
        li.classList.toggle("active", i === index);
      });
      const li = listEl.children[index];
      if (li) li.scrollIntoView({ block: "nearest" });
    };
    state.move = function (step) {
      if (state.items.length) state.highlight((state.active + step + state.items.length) % state.items.length);
    };
    state.clear = function () { state.items = []; state.active = -1; listEl.replaceChildren(); };
    return state;
  }

  // ---- the "/" list ------------------------------------------------------------------------
  const popup = document.getElementById("canned-list");
  const slash = chooser(popup, "canned-option-", pickSlash);
  let composing = false;
  let pickWhenReady = ""; // the key (Enter, Tab) that came before the list it was meant for
  let asked = 0; // answers to older questions are dropped: the agent kept typing
  let shownFor = 0;

  function slashToken() {
    if (body.selectionStart !== body.selectionEnd) return null;
    const caret = body.selectionStart;
    const match = SLASH.exec(body.value.slice(0, caret));
    if (!match) return null;
    if (body.value.slice(caret).split("\n", 1)[0].trim()) return null; // the line holds more
    return { start: caret - match[2].length - 1, end: caret, query: match[2] };
  }

  function isHangul(ch) {
    const code = ch.charCodeAt(0);
    return (code >= 0xac00 && code <= 0xd7a3) || (code >= 0x3131 && code <= 0x318e);
  }

  // Could the syllable being composed still turn into ch? Same first consonant and vowel (its
  // final consonant may come, change or move on); a lone jamo could become anything yet.
  function couldBecome(composed, ch) {
    const a = composed.charCodeAt(0) - 0xac00;
    const b = ch.charCodeAt(0) - 0xac00;
    if (a < 0 || a > 11171) return true;
    return b >= 0 && b <= 11171 && a - (a % 28) === b - (b % 28);
  }

  function stillPossible(reply, settled, composed) {
    return [reply.shortcut || "", reply.title.toLowerCase()].some(function (text) {
      for (let at = text.indexOf(settled); at >= 0; at = text.indexOf(settled, at + 1)) {
        const next = text.charAt(at + settled.length);
        if (next && couldBecome(composed, next)) return true;
      }
      return false;
    });
  }

  function closeSlash() {
    popup.hidden = true;
    slash.clear();
    pickWhenReady = "";
    delete body.dataset.suggesting;
    body.setAttribute("aria-expanded", "false");
    body.setAttribute("aria-controls", "mention-list");
    body.removeAttribute("aria-activedescendant");
  }

  function openSlash(items) {
    slash.show(items);
    popup.hidden = false;
    body.dataset.suggesting = "open"; // ticket.js: Ctrl+Enter does not send meanwhile
    body.setAttribute("aria-controls", "canned-list");
    body.setAttribute("aria-expanded", "true");
    if (items.length) body.setAttribute("aria-activedescendant", "canned-option-" + items[0].id);
  }

  function updateSlash() {
    const token = slashToken();
    if (!token) { if (!popup.hidden || pickWhenReady) closeSlash(); return; }
    if (!popup.hidden) body.dataset.suggesting = "open"; // the @mention list's input cleared it
    const query = token.query.toLowerCase();
    const unsettled = composing && query && isHangul(query.slice(-1));
    const settled = unsettled ? query.slice(0, -1) : query;
    const question = ++asked;
    listReplies(settled, unsettled ? SHOWN * 4 : SHOWN)
      .then(function (found) {
        if (question !== asked) return;
        shownFor = question;
        if (unsettled) {
          found = found.filter(function (r) { return stillPossible(r, settled, query.slice(-1)); });
        }
        found = found.slice(0, SHOWN);
        const key = pickWhenReady;
        if (!found.length || !slashToken()) {
          closeSlash();
          // No reply was meant after all: the Enter held back was a line break.
          if (key === "Enter") insertAt(body.selectionStart, body.selectionEnd, "\n");
          return;
        }
        openSlash(found);
        if (key && !composing) pickSlash(slash.active);
        else pickWhenReady = key;
      })
      .catch(function () { shownFor = question; closeSlash(); });
  }

  // "/" and a shortcut were typed, and the list for them is still on its way.
  function waitingForList() {
    return popup.hidden && shownFor !== asked && slashToken() !== null;
  }

  function pickSlash(index) {
    const reply = slash.items[index];
    const token = slashToken();
    closeSlash();
    if (!reply || !token) return;
    const typed = body.value.slice(token.start, token.end);
    renderReply(reply).then(function (text) {
      if (text === null) return;
      // The agent may have typed on while the server answered: replace the "/shortcut" only
      // if it is still there, else insert at the caret.
      if (body.value.slice(token.start, token.end) === typed) insertAt(token.start, token.end, text);
      else insertAt(body.selectionStart, body.selectionEnd, text);
    });
  }

  function pickWhenAnswered(key) {
    if (shownFor === asked && !composing && !popup.hidden) pickSlash(slash.active);
    else pickWhenReady = key;
  }

  body.addEventListener("input", updateSlash); // fires during a composition too, with its text
  body.addEventListener("click", updateSlash);
  body.addEventListener("compositionstart", function () { composing = true; });
  body.addEventListener("compositionend", function () { composing = false; updateSlash(); });
  body.addEventListener("blur", closeSlash);

  // Capture phase, like the @mention list: before ticket.js's Ctrl+Enter on the textarea, so
  // Enter with the list open picks a reply and never sends or breaks the line.
  body.addEventListener("keydown", function (event) {
    if (event.isComposing || event.keyCode === 229) return; // the IME's key: keep the syllable
    const plain = !(event.ctrlKey || event.metaKey || event.altKey || event.shiftKey);
    if (popup.hidden) {
      // Typed faster than the list came: a plain Enter or Tab waits for it.
      if (!waitingForList() || !plain || (event.key !== "Enter" && event.key !== "Tab")) return;
      pickWhenReady = event.key;
    } else if (event.key === "ArrowDown") slash.move(1);
    else if (event.key === "ArrowUp") slash.move(-1);
    else if (event.key === "Enter" || event.key === "Tab") pickWhenAnswered(event.key);
    else if (event.key === "Escape") closeSlash();
    else return;
    if (slash.active >= 0) body.setAttribute("aria-activedescendant", "canned-option-" + slash.items[slash.active].id);
    event.preventDefault();
    event.stopImmediatePropagation();
  }, true);

  // An Enter that ended a composition (the IME took its keydown) still tries to add a line
  // break afterwards on some systems: with the list open it picks instead.
  body.addEventListener("beforeinput", function (event) {
    if (event.inputType !== "insertLineBreak" && event.inputType !== "insertParagraph") return;
    if (popup.hidden && !waitingForList()) return;
    event.preventDefault();
    pickWhenAnswered("Enter");
  });

  // ---- the panel -----------------------------------------------------------------------------
  const toggle = document.getElementById("canned-toggle");
  const search = document.getElementById("canned-q");
  const results = document.getElementById("canned-results");
  const status = document.getElementById("canned-status");
  const found = chooser(results, "canned-result-", insertFromPanel);
  let searched = 0;
  let answered = 0;
  let insertWhenAnswered = false; // Enter came before the results for what was typed
  let searchTimer = null;
  let searchComposing = false;
  let touched = false; // before the agent ever put the caret in the draft, insert at its end
  body.addEventListener("focus", function () { touched = true; });

  function runSearch() {
    clearTimeout(searchTimer);
    searchTimer = null;
    const question = ++searched;
    listReplies(search.value.trim(), 50)
      .then(function (items) {
        if (question !== searched) return;
        answered = question;
        status.textContent = items.length ? "" : labels.none;
        found.show(items);
        if (insertWhenAnswered) { insertWhenAnswered = false; insertFromPanel(found.active); }
      })
      .catch(function () { answered = question; insertWhenAnswered = false; });
  }

  // At the caret the draft had when the agent left it (a textarea keeps its selection).
  function insertFromPanel(index) {
    const reply = found.items[index];
    if (!reply) return;
    renderReply(reply).then(function (text) {
      if (text === null) return;
      const start = touched ? body.selectionStart : body.value.length;
      const end = touched ? body.selectionEnd : body.value.length;
      const before = body.value.slice(0, start);
      insertAt(start, end, (before && !/\s$/.test(before) ? " " : "") + text);
    });
  }

  toggle.addEventListener("click", function () {
    panel.hidden = !panel.hidden;
    toggle.setAttribute("aria-expanded", panel.hidden ? "false" : "true");
    if (!panel.hidden) { search.focus(); runSearch(); }
  });
  search.addEventListener("compositionstart", function () { searchComposing = true; });
  search.addEventListener("compositionend", function () { searchComposing = false; runSearch(); });
  search.addEventListener("input", function () {
    if (searchComposing) return; // half a syllable finds nothing useful: wait for it
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, 200);
  });
  search.addEventListener("keydown", function (event) {
    if (event.isComposing || event.keyCode === 229) return;
    if (event.key === "ArrowDown") found.move(1);
    else if (event.key === "ArrowUp") found.move(-1);
    else if (event.key === "Enter") {
      if (searchTimer !== null) { insertWhenAnswered = true; runSearch(); }
      else if (answered !== searched) insertWhenAnswered = true;
      else insertFromPanel(found.active);
    }
    else if (event.key === "Escape") { panel.hidden = true; toggle.setAttribute("aria-expanded", "false"); body.focus(); }
    else return;
    event.preventDefault();
  });
})();
