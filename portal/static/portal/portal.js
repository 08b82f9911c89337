// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  function bind(root) {
    root.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
      if (el.dataset.bound) return;
      el.dataset.bound = "1";
      el.addEventListener("change", function () { el.form.submit(); });
    });
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      if (form.dataset.bound) return;
      form.dataset.bound = "1";
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
    root.querySelectorAll("form[data-dynamic-form]").forEach(function (form) {
      if (form.dataset.dynamicBound) return;
      form.dataset.dynamicBound = "1";
      bindDynamicForm(form);
    });
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      if (button.dataset.copyBound) return;
      button.dataset.copyBound = "1";
      bindCopy(button);
    });
  }
  // Forms whose fields depend on a choice (data-show-if="kind=online auth_method=basic,ntlm"):
  // only the fields and options that apply show. Without this file every field shows and the
  // server's checks decide; hidden fields stay in the form, the server ignores what is unused.
  function matches(form, condition) {
    return condition.trim().split(/\s+/).every(function (part) {
      var at = part.indexOf("=");
      var control = form.elements[part.slice(0, at)];
      return !control || part.slice(at + 1).split(",").indexOf(control.value) !== -1;
    });
  }
  function applyConditions(form) {
    form.querySelectorAll("[data-show-if]").forEach(function (el) {
      var show = matches(form, el.dataset.showIf);
      el.hidden = !show;
      if (el.tagName === "OPTION") el.disabled = !show;
    });
    var moved = false;
    form.querySelectorAll("select").forEach(function (select) {
      var chosen = select.options[select.selectedIndex];
      if (!chosen || !chosen.disabled) return;
      var first = Array.prototype.find.call(select.options, function (o) { return !o.disabled; });
      if (first) { select.value = first.value; moved = true; }
    });
    return moved;
  }
  // A test's usual port and security (data-defaults on the test's select) follow the chosen
  // test, unless the person typed something else.
  function fillDefaults(form, select, previous) {
    var defaults = JSON.parse(select.dataset.defaults || "{}");
    var before = defaults[previous] || {};
    var now = defaults[select.value] || {};
    var port = form.elements.port;
    var security = form.elements.security;
    if (port && (port.value === "" || port.value === String(before.port))) {
      port.value = now.port == null ? "" : String(now.port);
    }
    if (security && (security.value === "" || security.value === before.security)) {
      security.value = now.security || "";
    }
  }
  function bindDynamicForm(form) {
    var withDefaults = form.querySelector("select[data-defaults]");
    var previous = withDefaults ? withDefaults.value : null;
    if (withDefaults) fillDefaults(form, withDefaults, previous);
    var update = function () {
      for (var i = 0; i < 3 && applyConditions(form); i++) { /* a moved choice may hide more */ }
    };
    form.addEventListener("change", function (event) {
      if (withDefaults && event.target === withDefaults) {
        fillDefaults(form, withDefaults, previous);
        previous = withDefaults.value;
      }
      update();
    });
    update();
  }
  // "Copy": the text of the element named by data-copy goes to the clipboard. The button is
  // hidden until this file shows it; without it the text can still be selected by hand.
  function bindCopy(button) {
    if (!navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.dataset.copy);
      var status = document.getElementById(button.dataset.copyStatus);
      if (!source) return;
      navigator.clipboard.writeText(source.value || source.textContent).then(function () {
        if (status) status.textContent = button.dataset.copied;
      }, function () {
        if (status) status.textContent = button.dataset.copyFailed;
      });
    });
  }
  // The menu button (phone width): without this file the navigation simply stays open.
  function bindMenu() {
    var button = document.querySelector(".nav-toggle[aria-controls]");
    var nav = button && document.getElementById(button.getAttribute("aria-controls"));
    if (!nav) return;
    document.documentElement.classList.add("js-menu");
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("is-open", open);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        button.setAttribute("aria-expanded", "false");
        nav.classList.remove("is-open");
        button.focus();
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { bind(document); bindMenu(); });
  document.addEventListener("htmx:load", function (event) { bind(event.target); });
})();
