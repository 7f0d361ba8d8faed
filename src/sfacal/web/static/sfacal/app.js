/* sfacal screens: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) { return meta.content; }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  /* htmx requests carry the CSRF token (Django checks the X-CSRFToken header). */
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken();
  });

  /* Fields shown only for one choice of another field: data-show-if="name=value[|value]". */
  function applyConditions(root) {
    (root || document).querySelectorAll("[data-show-if]").forEach(function (el) {
      var spec = el.getAttribute("data-show-if").split("=");
      var form = el.closest("form") || document;
      var wanted = spec[1].split("|");
      var current = null;
      form.querySelectorAll('[name="' + spec[0] + '"]').forEach(function (input) {
        if ((input.type === "radio" || input.type === "checkbox")) {
          if (input.checked) { current = input.value; }
        } else { current = input.value; }
      });
      el.hidden = wanted.indexOf(current === null ? "" : current) === -1;
    });
  }

  /* A .pfx dropped on the drop zone fills its file input (the input still works alone). */
  function setupDropzones(root) {
    (root || document).querySelectorAll("[data-dropzone]").forEach(function (zone) {
      if (zone.dataset.ready) { return; }
      zone.dataset.ready = "1";
      var input = zone.querySelector('input[type="file"]');
      var label = zone.querySelector("[data-dropzone-name]");
      function show() {
        if (label && input.files && input.files.length) { label.textContent = input.files[0].name; }
      }
      ["dragenter", "dragover"].forEach(function (type) {
        zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.add("is-dragover"); });
      });
      ["dragleave", "drop"].forEach(function (type) {
        zone.addEventListener(type, function () { zone.classList.remove("is-dragover"); });
      });
      zone.addEventListener("drop", function (e) {
        e.preventDefault();
        if (e.dataTransfer && e.dataTransfer.files.length && input) {
          input.files = e.dataTransfer.files;
          show();
        }
      });
      if (input) { input.addEventListener("change", show); }
    });
  }

  function init(root) {
    applyConditions(root);
    setupDropzones(root);
    (root || document).querySelectorAll(".js-hide").forEach(function (el) { el.hidden = true; });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-autosubmit]")) {
      var form = target.closest("form");
      if (form) { form.requestSubmit ? form.requestSubmit() : form.submit(); }
    }
    if (target.matches("[data-select-all]")) {
      var scope = target.closest("form") || document;
      scope.querySelectorAll('input[type="checkbox"][name="' + target.getAttribute("data-select-all") + '"]')
        .forEach(function (box) { box.checked = target.checked; });
    }
    applyConditions(document);
  });

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy-target]");
    if (copy) {
      var source = document.getElementById(copy.getAttribute("data-copy-target"));
      if (!source) { return; }
      var text = source.value !== undefined ? source.value : source.textContent;
      var done = function () {
        var old = copy.textContent;
        copy.textContent = copy.getAttribute("data-copied-label") || "✓";
        window.setTimeout(function () { copy.textContent = old; }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text.trim()).then(done);
      } else if (source.select) {
        source.select();
        document.execCommand("copy");
        done();
      }
      return;
    }
    var fill = event.target.closest("[data-fill-target]");
    if (fill) {
      var input = document.getElementById(fill.getAttribute("data-fill-target"));
      if (input) { input.value = fill.getAttribute("data-fill-value"); input.dispatchEvent(new Event("change", { bubbles: true })); }
      return;
    }
    var toggle = event.target.closest("[data-nav-toggle]");
    if (toggle) { document.body.classList.toggle("nav-open"); }
  });

  /* Plain (non-htmx) forms asking for confirmation: data-confirm on the submit button. */
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (button && button.hasAttribute("data-confirm") && !button.hasAttribute("hx-confirm")) {
      if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) { init(event.target); });
  document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
