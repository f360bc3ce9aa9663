// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Move focus to the error summary after a failed submit, so keyboard and screen-reader
  // users land on what needs fixing.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });

  // htmx (the search form updates its results in place): move focus to the errors or to the
  // new results, as a page load would.
  document.addEventListener("htmx:afterSettle", function () {
    var target = document.getElementById("error-summary") || document.getElementById("results-heading");
    if (target) { target.focus(); }
  });
})();

// Copy buttons: hidden without JavaScript (the field itself is selectable).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var field = document.querySelector(button.getAttribute("data-copy"));
      var status = button.parentElement.querySelector("[data-copied-message]");
      if (!field || !navigator.clipboard) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(field.value).then(function () {
          if (status) { status.textContent = status.getAttribute("data-copied-message"); }
        });
      });
    });
  });
})();
