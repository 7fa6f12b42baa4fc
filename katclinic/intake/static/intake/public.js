// Show the clinic's crisis resources as soon as PHQ-9 item 9 is answered above 0.
(function () {
  "use strict";
  var item9 = document.getElementById("id_phq9_q9");
  var box = document.getElementById("crisis-now");
  if (!item9 || !box) {
    return;
  }
  function update() {
    box.hidden = !(parseInt(item9.value, 10) > 0);
  }
  item9.addEventListener("change", update);
  update();
})();
