/* A checkbox with data-select-all="<form id>" ticks or clears every checkbox that belongs to
 * that form (inside it, or outside with form="<form id>"): the bulk actions of a list. */
(function () {
  "use strict";
  document.querySelectorAll("[data-select-all]").forEach(function (master) {
    var form = document.getElementById(master.getAttribute("data-select-all"));
    if (!form) return;
    master.addEventListener("change", function () {
      Array.prototype.forEach.call(form.elements, function (element) {
        if (element.type === "checkbox" && element !== master && !element.disabled) element.checked = master.checked;
      });
    });
  });
})();
