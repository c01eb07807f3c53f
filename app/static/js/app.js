// Small enhancements; every page works without them.
"use strict";

// A button that undoes work asks first (data-confirm holds the question). Listening while
// the event comes down to the form, a "no" stops it before htmx or anything else sees it.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    event.stopPropagation();
  }
}, true);

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

// A reading outside its allowed range is pointed out as it is typed, so that a slip of the
// thumb is caught before Submit; a true one is still sent and becomes a finding.
document.addEventListener("input", function (event) {
  var input = event.target;
  if (!input.hasAttribute("data-min") && !input.hasAttribute("data-max")) return;
  var note = input.closest(".step").querySelector(".out-of-range");
  // As the server reads it: a comma for the decimal point, full-width digits (２５．５).
  var typed = input.value.trim().replace(/[０-９．－]/g, function (c) {
    return String.fromCharCode(c.charCodeAt(0) - 0xFEE0);
  });
  var value = parseFloat(typed.replace(/[,，]/, "."));
  var low = parseFloat(input.getAttribute("data-min"));
  var high = parseFloat(input.getAttribute("data-max"));
  if (note) note.hidden = isNaN(value) || !(value < low || value > high);
});

// The schedule form shows only the parts the chosen "how often" reads ([data-timing] names
// the kinds a part is for). Without the script every part shows; the server reads only those.
function showTiming(select) {
  select.form.querySelectorAll("[data-timing]").forEach(function (part) {
    part.hidden = part.getAttribute("data-timing").split(" ").indexOf(select.value) < 0;
  });
}
document.addEventListener("change", function (event) {
  if (event.target.matches("select[name=timing]")) showTiming(event.target);
});
document.querySelectorAll("select[name=timing]").forEach(showTiming);

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

// "Use my location here" on the spot form: the phone's position into the form's latitude
// and longitude fields; data-locate names the element that tells how it went.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-locate]");
  if (!button) return;
  var form = button.closest("form");
  var status = document.getElementById(button.dataset.locate);
  function say(text) { if (status) status.textContent = text; }
  if (!navigator.geolocation || !form) { say(button.dataset.failed); return; }
  button.disabled = true;
  say(button.dataset.locating);
  navigator.geolocation.getCurrentPosition(function (position) {
    form.elements.latitude.value = position.coords.latitude.toFixed(6);
    form.elements.longitude.value = position.coords.longitude.toFixed(6);
    say(button.dataset.located.replace("{m}", Math.round(position.coords.accuracy)));
    button.disabled = false;
  }, function () {
    say(button.dataset.failed);
    button.disabled = false;
  }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
});
