// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Move focus to the error summary after a failed submit, so keyboard and screen-reader
  // users land on what needs fixing.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
})();
