// The floor board must never look live when it is not: if a refresh fails or none has
// arrived for three refresh periods, a full-width "not monitoring" banner covers the board.
(function () {
  "use strict";
  var board = document.getElementById("floor-board");
  var banner = document.getElementById("board-stale");
  if (!board || !banner) { return; }
  var periodMs = 10000;
  var lastOk = Date.now();

  function show(reason) {
    banner.querySelector(".board-stale-reason").textContent = reason;
    banner.hidden = false;
    board.classList.add("board-stopped");
  }

  function hide() {
    banner.hidden = true;
    board.classList.remove("board-stopped");
  }

  board.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status === 200) {
      lastOk = Date.now();
      hide();
    } else if (xhr && xhr.status === 286) {
      board.classList.add("board-stopped");
    } else {
      show("The last refresh failed.");
    }
  });
  board.addEventListener("htmx:sendError", function () {
    show("The server cannot be reached.");
  });
  window.setInterval(function () {
    if (Date.now() - lastOk > 3 * periodMs) {
      var since = new Date(lastOk).toLocaleTimeString();
      show("No update since " + since + ".");
    }
  }, periodMs / 2);
})();
