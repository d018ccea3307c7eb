// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Confirm destructive actions: <button data-confirm="Remove X?">.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = (button && button.getAttribute("data-confirm")) || event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // htmx requests honour data-confirm too (htmx:confirm fires before the request).
  document.addEventListener("htmx:confirm", function (event) {
    var el = event.detail.elt;
    var message = el && el.getAttribute && el.getAttribute("data-confirm");
    if (message && event.detail.triggerEventName !== "submit") {
      event.preventDefault();
      if (window.confirm(message)) { event.detail.issueRequest(true); }
    }
  });

  function enhance(root) {
    // Selects that submit their form on change (the tenant switcher); hide the fallback button.
    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.requestSubmit(); });
    });
    root.querySelectorAll("[data-hide-with-js]").forEach(function (el) { el.hidden = true; });
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
})();
