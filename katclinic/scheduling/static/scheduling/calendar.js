// Drag an appointment onto a free slot: opens the move form with that slot filled in, so the
// same checks as booking apply and nothing changes until it is saved. Without scripts, the
// "Move" action on the appointment's page does the same.
(function () {
  "use strict";
  var dragged = null;
  document.addEventListener("dragstart", function (event) {
    var link = event.target.closest ? event.target.closest("a.cal-entry[data-move]") : null;
    if (!link) return;
    dragged = link;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", link.getAttribute("data-move"));
  });
  document.addEventListener("dragend", function () {
    dragged = null;
    document.querySelectorAll(".cal-drop").forEach(function (cell) {
      cell.classList.remove("cal-drop");
    });
  });
  function cellOf(event) {
    return event.target.closest ? event.target.closest("td.cal-cell:not(.cal-closed)") : null;
  }
  document.addEventListener("dragover", function (event) {
    var cell = cellOf(event);
    if (!dragged || !cell) return;
    event.preventDefault();
    cell.classList.add("cal-drop");
  });
  document.addEventListener("dragleave", function (event) {
    var cell = cellOf(event);
    if (cell) cell.classList.remove("cal-drop");
  });
  document.addEventListener("drop", function (event) {
    var cell = cellOf(event);
    if (!dragged || !cell) return;
    event.preventDefault();
    var params = new URLSearchParams();
    params.set("start", cell.getAttribute("data-start"));
    var column = (cell.getAttribute("data-column") || "").split(":");
    if (column.length === 2 && column[1] !== "none") params.set(column[0], column[1]);
    window.location.assign(dragged.getAttribute("data-move") + "?" + params.toString());
  });
})();
