// Small enhancements; every page works without them.
"use strict";

// A double tap on Submit sends one request: the button is disabled once the form goes.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.hasAttribute("data-submit-once")) return;
  if (form.hasAttribute("data-outbox") && window.roundsOutbox) return;  // outbox.js sends it
  if (form.dataset.sent) { event.preventDefault(); return; }
  form.dataset.sent = "1";
  var button = form.querySelector("button:not([type=button])");
  if (button) {
    button.disabled = true;
    if (button.dataset.sending) button.textContent = button.dataset.sending;
  }
});

// Coming back to a page from the history cache re-enables its form.
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
    delete form.dataset.sent;
    var button = form.querySelector("button:disabled");
    if (button) button.disabled = false;
  });
});

// Show the name of a photo chosen in a file input so the worker sees it was taken.
document.addEventListener("change", function (event) {
  var input = event.target;
  if (input.type !== "file" || !input.files.length) return;
  var label = input.closest("label");
  if (label) label.classList.add("chosen");
});

// htmx drops an error response silently; say so on the page instead.
document.addEventListener("htmx:responseError", function (event) {
  showProblem(document.body.dataset.errorMessage);
});
document.addEventListener("htmx:sendError", function () {
  showProblem(document.body.dataset.offlineMessage);
});

function showProblem(text) {
  var box = document.getElementById("problem");
  if (!box) {
    box = document.createElement("p");
    box.id = "problem";
    box.className = "notice error";
    box.setAttribute("role", "alert");
    document.querySelector("main").prepend(box);
  }
  box.textContent = text;
}
