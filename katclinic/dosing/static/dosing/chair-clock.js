// Keeps a "taken at" field on the clinic's current time while the page stays open, until the
// nurse changes it by hand. The server gives the clinic's UTC offset in minutes.
(function () {
  "use strict";
  function pad(n) { return String(n).padStart(2, "0"); }
  function clinicNow(offsetMinutes) {
    var shifted = new Date(Date.now() + offsetMinutes * 60000);
    return shifted.getUTCFullYear() + "-" + pad(shifted.getUTCMonth() + 1) + "-" +
      pad(shifted.getUTCDate()) + "T" + pad(shifted.getUTCHours()) + ":" + pad(shifted.getUTCMinutes());
  }
  function follow(input) {
    var offset = parseInt(input.getAttribute("data-clinic-offset"), 10) || 0;
    var touched = false;
    input.addEventListener("input", function () { touched = true; });
    function tick() { if (!touched) { input.value = clinicNow(offset); } }
    tick();
    window.setInterval(tick, 20000);
    if (input.form) { input.form.addEventListener("submit", tick); }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-clinic-offset]").forEach(follow);
  });
})();
