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
    root.querySelectorAll("[data-impersonation-banner]").forEach(countDown);
  }

  // The impersonation banner (templates/admin/_impersonation_banner.html): the time left counts down from
  // the server's figure; screen readers hear it at 5 minutes, 1 minute and the end, never every second.
  function timeLeft(seconds) {
    if (seconds >= 60) {
      var minutes = Math.ceil(seconds / 60);
      return minutes + (minutes === 1 ? " minute left" : " minutes left");
    }
    return seconds + (seconds === 1 ? " second left" : " seconds left");
  }

  function countDown(banner) {
    if (banner.dataset.counting) { return; }
    var total = parseInt(banner.dataset.secondsLeft, 10);
    if (isNaN(total)) { return; }
    banner.dataset.counting = "1";
    var endsAt = Date.now() + total * 1000;
    var time = banner.querySelector("[data-impersonation-time]");
    var announce = banner.querySelector("[data-impersonation-announce]");
    var moments = [300, 60].filter(function (m) { return m < total; }); // only those still ahead
    var timer;
    function tick() {
      if (!document.contains(banner)) { window.clearInterval(timer); return; }
      var left = Math.max(0, Math.ceil((endsAt - Date.now()) / 1000));
      if (left === 0) {
        window.clearInterval(timer);
        banner.querySelectorAll("[data-impersonation-running]").forEach(function (el) { el.hidden = true; });
        banner.querySelector("[data-impersonation-ended]").hidden = false;
        announce.textContent = "Impersonation ended: its time is up.";
        return;
      }
      time.textContent = timeLeft(left);
      while (moments.length && left <= moments[0]) {
        var moment = moments.shift();
        if (!moments.length || left > moments[0]) {
          announce.textContent = "Impersonation: " + timeLeft(moment) + ".";
        }
      }
    }
    tick();
    timer = window.setInterval(tick, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
})();
