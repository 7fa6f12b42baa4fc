// The at-home session timer: time since the dose, and the plan's prompt for this moment.
(function () {
  "use strict";
  var elapsed = document.getElementById("elapsed");
  var data = document.getElementById("timer-prompts");
  var current = document.getElementById("current-prompt");
  if (!elapsed || !data || !current) return;
  var takenAt = new Date(elapsed.dataset.takenAt).getTime();
  var prompts = JSON.parse(data.textContent);
  var items = document.querySelectorAll(".timer-prompts li");
  var shown = -1;

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function tick() {
    var seconds = Math.max(0, Math.floor((Date.now() - takenAt) / 1000));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    elapsed.textContent = (h ? h + ":" : "") + pad(m) + ":" + pad(s);
    var index = -1;
    for (var i = 0; i < prompts.length; i++) {
      if (seconds >= prompts[i].minute * 60) index = i;
    }
    if (index !== shown && index >= 0) {
      shown = index;
      current.textContent = prompts[index].text;
      items.forEach(function (li, j) {
        if (j === index) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
      });
    }
  }
  tick();
  window.setInterval(tick, 1000);
})();
