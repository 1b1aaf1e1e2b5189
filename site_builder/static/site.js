// Reading aids, all optional (the page is complete without them): name and math highlighting,
// copy buttons, image zoom, search (Pagefind, loaded on first use), the theme toggle and keyboard
// shortcuts.
(function () {
  "use strict";
  var text = JSON.parse(document.getElementById("ui-text").textContent);
  var main = document.getElementById("content");
  var pinned = null;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { node.append(c); });
    return node;
  }

  // Highlight every element of a group: a name's occurrences (the generator marks names with
  // their token class: same text, same group), or repeated math (same data-tex-key).
  var NAME = ":is(pre, code).code :is(.n, .nf, .nc, .fm, .nd, .nb, .bp, .nn)";
  var byName = null;  // name -> its elements, made on first use
  function groupOf(target) {
    var node = target.closest && target.closest("[data-tex-key], " + NAME);
    if (!node && target.matches && target.matches("a.xref")) node = target.querySelector(NAME);
    if (!node || !main.contains(node)) return null;
    var key = node.getAttribute("data-tex-key");
    return key === null ? { name: node.textContent } : { tex: key };
  }
  function members(group) {
    if (group.tex !== undefined) {
      return main.querySelectorAll('[data-tex-key="' + CSS.escape(group.tex) + '"]');
    }
    if (!byName) {
      byName = new Map();
      main.querySelectorAll(NAME).forEach(function (n) {
        var name = n.textContent;
        if (!byName.has(name)) byName.set(name, []);
        byName.get(name).push(n);
      });
    }
    return byName.get(group.name) || [];
  }
  function same(a, b) {
    return a === b || (a !== null && b !== null && a.name === b.name && a.tex === b.tex);
  }
  function highlight(group) {
    main.querySelectorAll(".hl").forEach(function (n) { n.classList.remove("hl"); });
    if (group) members(group).forEach(function (n) { n.classList.add("hl"); });
  }
  main.addEventListener("mouseover", function (e) { highlight(groupOf(e.target) || pinned); });
  main.addEventListener("focusin", function (e) { highlight(groupOf(e.target) || pinned); });
  main.addEventListener("mouseleave", function () { highlight(pinned); });
  main.addEventListener("click", function (e) {
    var group = groupOf(e.target);
    if (group && !e.target.closest("a")) {
      pinned = same(pinned, group) ? null : group;
      highlight(pinned);
    }
  });

  // Regions that scroll sideways must be reachable by keyboard. The code panes come as Tab
  // stops: below 768 px code scrolls sideways in its pane; from 768 px it wraps and never does,
  // so there they are not (no measuring: sections off screen are not laid out until needed).
  var wrapping = matchMedia("(min-width: 768px)");
  function codeStops() {
    main.querySelectorAll(".section > .code > pre").forEach(function (pre) {
      if (wrapping.matches) pre.removeAttribute("tabindex"); else pre.tabIndex = 0;
    });
  }
  codeStops();
  wrapping.addEventListener("change", codeStops);
  // Markdown tables come as Tab stops too (code blocks in notes wrap); a table written in HTML
  // is measured. Measuring one lays it out, so the checks run in idle time, a few at a time.
  var boxes = Array.prototype.slice.call(main.querySelectorAll(".docs table:not([tabindex])"));
  var idle = window.requestIdleCallback || function (work) {
    return setTimeout(function () { work({ timeRemaining: function () { return 8; } }); }, 1);
  };
  idle(function check(deadline) {
    while (boxes.length && deadline.timeRemaining() > 2) {
      var box = boxes.shift();
      if (box.scrollWidth > box.clientWidth && !box.querySelector("a, button, [tabindex]")) {
        box.tabIndex = 0;
      }
    }
    if (boxes.length) idle(check);
  });

  // Copy buttons on code of two lines or more (the generator marks it `copyable`).
  document.querySelectorAll(".section > .code.copyable > pre").forEach(function (pre) {
    var button = el("button", { type: "button", class: "copy", "aria-label": text.copyLabel },
      [text.copy]);
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(pastable(pre)).then(function () {
        button.textContent = text.copied;
        setTimeout(function () { button.textContent = text.copy; }, 1500);
      });
    });
    pre.parentNode.insertBefore(button, pre);
  });

  // The code as it runs when pasted into a Python prompt: dedented (a method's body starts at
  // column 0), without the blank lines inside an indented block (which would end the block at
  // the prompt), and ended by a blank line (which runs it). Line numbers are CSS, not text.
  function pastable(pre) {
    var lines = Array.prototype.map.call(pre.querySelectorAll(".line"), function (line) {
      return line.textContent.replace(/\s+$/, "");
    });
    var indents = lines.filter(function (l) { return l; }).map(function (l) {
      return l.match(/^ */)[0].length;
    });
    var cut = indents.length ? Math.min.apply(null, indents) : 0;
    lines = lines.map(function (l) { return l.slice(cut); });
    var kept = lines.filter(function (line, i) {
      if (line) return true;
      var after = lines.slice(i + 1).find(function (l) { return l; });
      return after !== undefined && !/^\s/.test(after);
    });
    while (kept.length && !kept[0]) kept.shift();
    return kept.join("\n") + "\n\n";
  }

  // Dialogs: native <dialog> closes on Escape and returns focus to what opened it.
  function dialog(label, className) {
    var close = el("button", { type: "button", class: "dialog-close", "aria-label": text.close },
      ["\u00d7"]);
    var box = el("dialog", { class: className, "aria-label": label }, [close]);
    close.addEventListener("click", function () { box.close(); });
    box.addEventListener("click", function (e) { if (e.target === box) box.close(); });
    document.body.append(box);
    return box;
  }
  function open(box, focus) {
    var opener = document.activeElement;
    if (!box.open) box.showModal();
    if (focus) focus.focus();
    box.addEventListener("close", function () {
      if (opener && opener.focus) opener.focus();
    }, { once: true });
  }

  // Images open enlarged.
  var zoom = dialog(text.zoomLabel, "zoom");
  zoom.addEventListener("click", function () { zoom.close(); });
  document.querySelectorAll(".docs img").forEach(function (img) {
    img.tabIndex = 0;
    img.setAttribute("role", "button");
    img.setAttribute("aria-label", text.zoomLabel + ": " + (img.alt || ""));
    function show() {
      zoom.querySelectorAll("img").forEach(function (n) { n.remove(); });
      zoom.append(el("img", { src: img.currentSrc || img.src, alt: img.alt }));
      open(zoom, zoom.querySelector(".dialog-close"));
    }
    img.addEventListener("click", show);
    img.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); show(); }
    });
  });

  // Keyboard help.
  var help = dialog(text.shortcuts, "help");
  var list = el("dl");
  text.keys.forEach(function (pair) {
    list.append(el("dt", {}, [el("kbd", {}, [pair[0]])]), el("dd", {}, [pair[1]]));
  });
  help.append(el("h2", {}, [text.shortcuts]), list);

  // Search, on Pagefind's JS API, imported on first use (it only works over http).
  var search = dialog(text.searchLabel, "search");
  var input = el("input", { type: "search", "aria-label": text.searchLabel, autocomplete: "off" });
  var status = el("p", { class: "search-status", role: "status" });
  var results = el("ol", { class: "search-results" });
  search.append(el("h2", {}, [text.search]), input, status, results);
  var pagefind = null;
  var pending = 0;
  var SEARCH_CANDIDATES = 16;  // results read (one small request each) to rank ...
  var SEARCH_SHOWN = 8;  // ... the ones shown

  // Pages that hold the query as typed, its words together, come first (in Pagefind's order):
  // Pagefind matches the words of "残差" (残, 差) or "residual connection" wherever they are.
  function squash(s) { return (s || "").toLocaleLowerCase().replace(/\s+/g, " "); }
  function phraseFirst(query, pages) {
    var phrase = squash(query);
    var together = pages.filter(function (p) { return squash(p.content).includes(phrase); });
    return together.concat(pages.filter(function (p) { return together.indexOf(p) < 0; }));
  }

  // The section of a page that matches best: of Pagefind's sub-results (the parts under headings
  // with ids: one per section in the search document), one whose excerpt holds the query as
  // typed, else the one with the most weight of matches.
  function bestSection(query, page) {
    var phrase = squash(query);
    var score = function (sub) {
      var hits = (sub.weighted_locations || []).reduce(function (sum, w) {
        return sum + (w.balanced_score || w.weight || 0);
      }, 0);
      var text = sub.plain_excerpt || (sub.excerpt || "").replace(/<[^>]*>/g, "");  // < 1.5
      return (squash(text).includes(phrase) ? 1e6 : 0) + hits;
    };
    return (page.sub_results || []).reduce(function (best, sub) {
      return best && score(best) >= score(sub) ? best : sub;
    }, null) || page;
  }

  // One result: a link to the section that matches, titled by its page and section, and the
  // section's excerpt. Pagefind's URLs already start with the site's folder (it finds it from
  // where pagefind.js was loaded), so they are resolved as they are, not under text.root.
  function searchResult(query, page) {
    var section = bestSection(query, page);
    var title = page.meta.title || page.url;
    var label = [title];
    if (section.title && section.title !== title) {
      label.push(el("span", { class: "search-section" }, [" \u203a " + section.title]));
    }
    var link = el("a", { href: new URL(section.url, location.href).href }, label);
    var excerpt = el("p");
    excerpt.innerHTML = section.excerpt || page.excerpt;  // Pagefind's: our text with <mark>
    return el("li", {}, [link, excerpt]);
  }
  function loadPagefind() {
    if (!pagefind) {
      var url = new URL(text.root + "pagefind/pagefind.js", location.href).href;
      pagefind = import(url).then(function (module) {
        return module.init().then(function () { return module; });
      });
    }
    return pagefind;
  }
  input.addEventListener("input", function () {
    var query = input.value.trim();
    var ticket = ++pending;
    if (!query) { results.replaceChildren(); status.textContent = ""; return; }
    loadPagefind().then(function (api) { return api.debouncedSearch(query, {}, 150); })
      .then(function (found) {
        if (!found || ticket !== pending) return null;
        return Promise.all(found.results.slice(0, SEARCH_CANDIDATES).map(function (r) {
          return r.data();
        }));
      })
      .then(function (pages) {
        if (!pages || ticket !== pending) return;
        pages = phraseFirst(query, pages).slice(0, SEARCH_SHOWN);
        status.textContent = pages.length ? "" : text.noResults;
        results.replaceChildren.apply(results, pages.map(function (page) {
          return searchResult(query, page);
        }));
      })
      .catch(function () { status.textContent = text.searchUnavailable; });
  });

  // Theme toggle: follows prefers-color-scheme until the reader picks one; the choice persists
  // (base.html applies a saved choice before the first paint).
  var themeButton = document.querySelector(".theme-toggle");
  if (themeButton) {
    var root = document.documentElement;
    var theme = function () {
      return root.getAttribute("data-theme") ||
        (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
    };
    var pressed = function () { themeButton.setAttribute("aria-pressed", String(theme() === "dark")); };
    themeButton.hidden = false;
    pressed();
    themeButton.addEventListener("click", function () {
      var next = theme() === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try { localStorage.setItem("site-builder-theme", next); } catch (e) { /* this page only */ }
      pressed();
    });
  }

  var buttons = {
    ".search-open": function () { open(search, input); },
    ".help-open": function () { open(help, help.querySelector(".dialog-close")); },
  };
  Object.keys(buttons).forEach(function (selector) {
    var button = document.querySelector(selector);
    if (button) { button.hidden = false; button.addEventListener("click", buttons[selector]); }
  });

  function step(direction) {
    var sections = Array.prototype.slice.call(main.querySelectorAll("section.section"));
    var tops = sections.map(function (s) { return s.getBoundingClientRect().top; });
    var index = direction > 0
      ? tops.findIndex(function (t) { return t > 2; })
      : tops.map(function (t) { return t < -2; }).lastIndexOf(true);
    if (index >= 0) {
      sections[index].scrollIntoView();
      var permalink = sections[index].querySelector(".permalink");
      if (permalink) permalink.focus({ preventScroll: true });
    }
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape" && pinned !== null) { pinned = null; highlight(null); return; }
    if (e.key === "Escape") { highlight(null); return; }
    var typing = e.target.closest("input, textarea, select, [contenteditable]");
    if (typing || document.querySelector("dialog[open]")) return;
    var actions = {
      "/": buttons[".search-open"],
      "?": buttons[".help-open"],
      t: function () { var b = document.querySelector(".theme-toggle"); if (b) b.click(); },
      j: function () { step(1); },
      k: function () { step(-1); },
    };
    if (actions[e.key]) { e.preventDefault(); actions[e.key](); }
  });
})();

// The language switcher keeps the reader on the same section: section ids are the same in every
// language, so the current fragment carries over.
(function () {
  document.addEventListener("click", function (e) {
    var link = e.target.closest("nav.languages a[hreflang]");
    if (link && location.hash) link.hash = location.hash;
  });
})();
