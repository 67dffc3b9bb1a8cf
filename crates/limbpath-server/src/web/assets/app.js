// LimbPath progressive enhancement. Every page works without this file.
// - Foot map: each SVG region toggles its location checkbox on click, Enter or
//   Space, and is focusable with role=checkbox so the keyboard reaches it.
// - Summary page: a Print button.
// - Forms with errors: focus the error summary.
(function () {
  "use strict";

  function boxFor(location) {
    return document.getElementById("loc-" + location);
  }

  function sync(location) {
    var box = boxFor(location);
    if (!box) return;
    var regions = document.querySelectorAll('[data-location="' + location + '"]');
    for (var i = 0; i < regions.length; i++) {
      regions[i].setAttribute("aria-checked", box.checked ? "true" : "false");
      regions[i].classList.toggle("marked", box.checked);
    }
  }

  function toggle(location) {
    var box = boxFor(location);
    if (!box) return;
    box.checked = !box.checked;
    sync(location);
  }

  function enhanceFootMap() {
    var regions = document.querySelectorAll("[data-footmap] [data-location]");
    for (var i = 0; i < regions.length; i++) {
      var r = regions[i];
      var loc = r.getAttribute("data-location");
      var title = r.querySelector("title");
      r.setAttribute("tabindex", "0");
      r.setAttribute("role", "checkbox");
      r.setAttribute("focusable", "true");
      if (title) r.setAttribute("aria-label", title.textContent);
      r.addEventListener("click", function (e) {
        toggle(e.currentTarget.getAttribute("data-location"));
      });
      r.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " " || e.key === "Spacebar") {
          e.preventDefault();
          toggle(e.currentTarget.getAttribute("data-location"));
        }
      });
      sync(loc);
    }
    var boxes = document.querySelectorAll('input[name="wound_locations"]');
    for (var j = 0; j < boxes.length; j++) {
      boxes[j].addEventListener("change", function (e) {
        sync(e.currentTarget.value);
      });
    }
  }

  function enhancePrint() {
    var buttons = document.querySelectorAll(".print-button");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
      buttons[i].addEventListener("click", function () {
        window.print();
      });
    }
  }

  function focusErrors() {
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhanceFootMap();
    enhancePrint();
    focusErrors();
  });
})();
