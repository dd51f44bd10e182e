// The help center's instant suggestions: as a visitor types in the search box or the contact
// form's subject, matching articles are listed under the field. Korean input methods report
// the syllable being composed with every keystroke, so "환부" on the way to "환불" already
// suggests. Suggestions opened from the contact form carry ?from=contact (a deflection).
(function () {
  "use strict";
  const configNode = document.getElementById("portal-config");
  if (!configNode) return;
  const config = JSON.parse(configNode.textContent);
  const DELAY = 200;

  function attach(input, index) {
    const fromContact = input.dataset.suggestFrom === "contact";
    const box = document.createElement("div");
    box.className = "suggestions";
    box.id = "suggestions-" + index;
    box.hidden = true;
    const heading = document.createElement("p");
    heading.className = "suggestions-title";
    heading.textContent = config.text.suggestions;
    const list = document.createElement("ul");
    box.append(heading, list);
    input.insertAdjacentElement("afterend", box);
    input.setAttribute("aria-controls", box.id);

    let timer = null;
    let asked = 0;
    let shown = "";

    function show(items) {
      list.replaceChildren();
      items.forEach(function (item) {
        const link = document.createElement("a");
        link.href = item.url + (fromContact ? "?from=contact" : "");
        link.textContent = item.title;
        if (fromContact) {
          link.target = "_blank";  // keep what the visitor has typed so far
          link.rel = "noopener";
        }
        const li = document.createElement("li");
        li.append(link);
        list.append(li);
      });
      box.hidden = items.length === 0;
    }

    function ask() {
      const text = input.value.trim();
      if (text === shown) return;
      shown = text;
      const mine = ++asked;
      if (!text) {
        show([]);
        return;
      }
      fetch(config.suggest_url + "?q=" + encodeURIComponent(text), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (items) { if (mine === asked) show(items); })
        .catch(function () { if (mine === asked) show([]); });
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY);
    }

    input.addEventListener("input", later);
    input.addEventListener("compositionend", later);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape") box.hidden = true;
    });
    if (input.value.trim()) later();
  }

  document.querySelectorAll("input[data-suggest]").forEach(attach);
})();
