// On the clinic tablet, return to the locked screen a little while after answering.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var done = document.getElementById("kiosk-done");
    if (!done) { return; }
    var seconds = parseInt(done.getAttribute("data-after-seconds"), 10);
    // With a safety concern the patient reads the crisis text; staff take the tablet back by hand.
    if (seconds > 0) {
      window.setTimeout(function () { window.location.assign(done.getAttribute("href")); }, seconds * 1000);
    }
  });
})();
