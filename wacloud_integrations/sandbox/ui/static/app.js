// The sandbox view's only script: live regions, forms without reloads, search as you type.
// Every page works without it (plain links and forms); it never builds HTML itself.
(function () {
  "use strict";

  var chain = Promise.resolve();
  var refreshQueued = false;

  function token() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function atBottom(el) {
    return el.scrollHeight - el.scrollTop - el.clientHeight < 48;
  }

  function toBottom() {
    var el = document.getElementById("conversation");
    if (el) el.scrollTop = el.scrollHeight;
  }

  // Swap each live region whose markup changed, keeping open <details> open and a chat at its bottom.
  function swap(doc, withNotices) {
    document.querySelectorAll("[data-live][id]").forEach(function (el) {
      var fresh = doc.getElementById(el.id);
      if (!fresh || fresh.innerHTML === el.innerHTML) return;
      var stick = el.hasAttribute("data-stick") && atBottom(el);
      var open = {};
      el.querySelectorAll("details[open][data-key]").forEach(function (d) { open[d.dataset.key] = true; });
      el.innerHTML = fresh.innerHTML;
      el.querySelectorAll("details[data-key]").forEach(function (d) {
        if (open[d.dataset.key]) d.open = true;
      });
      if (stick) el.scrollTop = el.scrollHeight;
    });
    if (withNotices) {
      var notices = document.getElementById("notices");
      var freshNotices = doc.getElementById("notices");
      if (notices && freshNotices) notices.innerHTML = freshNotices.innerHTML;
    }
    var meta = doc.querySelector('meta[name="csrf-token"]');
    var mine = document.querySelector('meta[name="csrf-token"]');
    if (meta && mine) mine.content = meta.content;
    if (doc.title) document.title = doc.title;
  }

  function load(url, init, withNotices) {
    return fetch(url, init).then(function (res) {
      return res.text().then(function (html) {
        var target = new URL(res.url);
        if (res.redirected && target.pathname !== location.pathname) {
          location.assign(res.url);
          return;
        }
        swap(new DOMParser().parseFromString(html, "text/html"), withNotices);
      });
    });
  }

  function later(task) {
    chain = chain.then(task).catch(function () {
      var live = document.getElementById("live");
      if (live) live.dataset.state = "off";
    });
    return chain;
  }

  function refresh() {
    if (refreshQueued) return;
    refreshQueued = true;
    later(function () {
      refreshQueued = false;
      return load(location.href, { headers: { Accept: "text/html" }, cache: "no-store" }, false);
    });
  }

  // Live updates: the server says "change", the page fetches itself and swaps what moved.
  function connect() {
    var url = document.body.dataset.events;
    var live = document.getElementById("live");
    if (!url || !window.EventSource) return;
    var source = new EventSource(url);
    source.addEventListener("open", function () {
      if (live) live.dataset.state = "on";
      refresh();
    });
    source.addEventListener("change", refresh);
    source.addEventListener("bye", function () {
      source.close();
      window.setTimeout(connect, 20);
    });
    source.addEventListener("error", function () {
      if (live) live.dataset.state = "off";
    });
  }

  // Forms marked data-enhance post in the background (once: the button waits for the answer).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-enhance")) return;
    event.preventDefault();
    if (form.dataset.busy) return;
    form.dataset.busy = "1";
    // Read the form (with the pressed button's value) before its buttons are disabled.
    var body = new URLSearchParams(new FormData(form, event.submitter || undefined));
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    later(function () {
      return load(form.action, {
        method: "POST",
        body: body,
        headers: { "X-CSRF-Token": token(), Accept: "text/html" },
      }, true).then(function () {
        if (form.hasAttribute("data-reset")) {
          form.reset();
          var first = form.querySelector("textarea, input:not([type=hidden])");
          if (first) first.focus();
        }
      });
    }).then(function () {
      delete form.dataset.busy;
      buttons.forEach(function (b) { b.disabled = false; });
    });
  });

  // Enter sends, Shift+Enter starts a new line.
  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (box instanceof HTMLTextAreaElement && box.id === "compose" && event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      if (box.value.trim()) box.form.requestSubmit();
    }
  });

  // Search as you type: the address keeps the query, so the filtered list has a link too.
  var timer = 0;
  document.addEventListener("input", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.hasAttribute("data-search")) return;
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var url = new URL(location.href);
      if (box.value) url.searchParams.set("q", box.value); else url.searchParams.delete("q");
      history.replaceState(null, "", url);
      refresh();
    }, 200);
  });

  document.addEventListener("DOMContentLoaded", function () {
    toBottom();
    connect();
  });
})();
