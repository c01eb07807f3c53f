// The outbox: a submitted form is kept on the phone (IndexedDB) until the server has it.
// Photos are shrunk first. Without IndexedDB or fetch, forms are sent the ordinary way.
"use strict";
(function () {
  if (!window.indexedDB || !window.fetch || !window.Promise || !window.FormData ||
      !FormData.prototype.forEach || !window.crypto || !crypto.getRandomValues) return;
  window.roundsOutbox = true;  // app.js leaves forms with data-outbox to this script

  var LONGEST_SIDE = 1600, QUALITY = 0.8;
  var status = document.getElementById("outbox-status");
  var text = function (name) { return status ? status.getAttribute("data-" + name) : ""; };

  // Storage ---------------------------------------------------------------------------
  var opened = null;
  function database() {
    if (!opened) {
      opened = new Promise(function (resolve, reject) {
        // Some WebViews never answer: after 3 s the form goes the ordinary way instead.
        setTimeout(function () { reject(new Error("IndexedDB did not open")); }, 3000);
        var request = indexedDB.open("rounds", 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore("outbox", { keyPath: "key" });
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
      opened.catch(function () { opened = null; });
    }
    return opened;
  }
  function store(mode, work) {
    return database().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction("outbox", mode);
        var result = work(tx.objectStore("outbox"));
        tx.oncomplete = function () { resolve(result && "result" in result ? result.result : undefined); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }
  var items = function () { return store("readonly", function (s) { return s.getAll(); }); };
  var keep = function (item) { return store("readwrite", function (s) { s.put(item); }); };
  var drop = function (key) { return store("readwrite", function (s) { s.delete(key); }); };
  // Refused: kept with the server's reason, unless a newer copy was saved meanwhile.
  // `seen`: refused while the worker watched, with the reasons on the page.
  function refused(item, message, seen) {
    return store("readwrite", function (s) {
      var request = s.get(item.key);
      request.onsuccess = function () {
        var stored = request.result;
        if (!stored || stored.savedAt !== item.savedAt) return;
        stored.state = "rejected";
        stored.error = message;
        stored.seen = !!seen;
        s.put(stored);
      };
    });
  }
  // Sent: gone from the phone, and with it the same visit's form that was refused on
  // screen and then done again from a new scan rather than fixed: same worker, same spot,
  // same redo, captured a little before. Anything else refused waits to be fixed.
  var SAME_VISIT_MS = 15 * 60 * 1000;
  function field(item, name) {
    var pair = item.fields.filter(function (p) { return p[0] === name; })[0];
    return pair ? pair[1] : "";
  }
  function sent(item) {
    return items().then(function (all) {
      var gone = all.filter(function (i) {
        return i.key === item.key || (
          i.state === "rejected" && i.seen && i.user === item.user && i.url === item.url &&
          field(i, "redo_of") === field(item, "redo_of") && i.capturedAt <= item.capturedAt &&
          item.capturedAt - i.capturedAt < SAME_VISIT_MS);
      });
      return Promise.all(gone.map(function (i) { return drop(i.key); }));
    });
  }
  var me = function () { return document.body.getAttribute("data-user") || ""; };
  var mine = function (item) { return !me() || item.user === me(); };

  // Photos ----------------------------------------------------------------------------
  // Longest side 1600 px as JPEG. Only where the browser turns photos upright itself
  // (image-orientation); otherwise, or on any failure, the original goes and the server
  // shrinks it.
  function shrink(file) {
    var canShrink = /^image\/(jpeg|png|webp)$/.test(file.type) &&
      HTMLCanvasElement.prototype.toBlob && window.CSS && CSS.supports &&
      CSS.supports("image-orientation", "from-image");
    if (!canShrink) return Promise.resolve(file);
    return new Promise(function (resolve) {
      var url = URL.createObjectURL(file), img = new Image();
      img.onload = function () {
        var scale = Math.min(1, LONGEST_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(img.naturalWidth * scale);
        canvas.height = Math.round(img.naturalHeight * scale);
        var context = canvas.getContext("2d");
        context.fillStyle = "#fff";  // JPEG has no transparency: white, not black
        context.fillRect(0, 0, canvas.width, canvas.height);
        context.drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        canvas.toBlob(function (blob) {
          resolve(blob && blob.size < file.size ? blob : file);
        }, "image/jpeg", QUALITY);
      };
      img.onerror = function () { URL.revokeObjectURL(url); resolve(file); };
      img.src = url;
    });
  }
  function bytes(blob) { return new Response(blob).arrayBuffer(); }

  // A form becomes an item --------------------------------------------------------------
  function capture(form) {
    var fields = [], files = [];
    var data = new FormData(form);
    data.forEach(function (value, name) {
      if (typeof value === "string") { if (name !== "csrf_token") fields.push([name, value]); }
      else if (value.name && value.size) files.push([name, value]);
    });
    fields.push(["captured_at", String(Date.now())],
                ["scan_ms", String(Math.round(performance.now()))],
                ["outbox_user", me()]);
    var item = {
      key: form.elements.submission_key.value, user: me(), url: form.action,
      title: form.getAttribute("data-title") || document.title, capturedAt: Date.now(),
      savedAt: Date.now(), fields: fields, files: [], state: "waiting", error: ""
    };
    // One photo at a time: a phone's memory holds one decoded 12-megapixel photo, not five.
    return files.reduce(function (done, entry) {
      return done.then(function () { return shrink(entry[1]); }).then(function (photo) {
        return bytes(photo).then(function (buffer) {
          item.files.push({ name: entry[0], type: photo.type || "image/jpeg", data: buffer });
        });
      });
    }, Promise.resolve()).then(function () { return item; });
  }

  // Sending ---------------------------------------------------------------------------
  function pageToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; }
    catch (e) { return ""; }
  }
  var token = null;

  function post(item) {
    var body = new FormData();
    item.fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
    body.append("sent_at", String(Date.now()));
    item.files.forEach(function (file) {
      body.append(file.name, new Blob([file.data], { type: file.type }), "photo.jpg");
    });
    return fetch(item.url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-Rounds-Outbox": "1", "X-CSRFToken": token || pageToken() }
    });
  }
  function freshToken() {
    return fetch("/offline/session", { credentials: "same-origin", headers: { "X-Rounds-Outbox": "1" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (session) { token = session && session.csrf; return !!token; });
  }
  function messageOf(response) {
    return response.text().then(function (html) {
      var page = new DOMParser().parseFromString(html, "text/html");
      // The page's own message: an alert, else the error page's heading and text.
      var alert = page.querySelector("main [role=alert]:not(.urgent)");
      var parts = alert ? [alert] : [page.querySelector("main h1"), page.querySelector("main h1 + p")];
      var message = parts.filter(Boolean).map(function (e) { return e.textContent.trim(); }).join(" ");
      return message || String(response.status);
    });
  }

  // What became of one attempt: sent, offline, login, other, server or rejected.
  function attempt(item, retried) {
    return post(item).then(function (response) {
      if (response.status === 201) {
        return response.json().then(function (answer) { return { kind: "sent", url: answer.url }; });
      }
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      var answer = json ? response.json() : Promise.resolve({});
      return answer.then(function (answer) {
        if (response.status === 401) return { kind: "login", url: answer.url };
        if (response.status === 400 && answer.error === "csrf") {
          if (retried) return { kind: "login" };
          return freshToken().then(function (ok) {
            return ok ? attempt(item, true) : { kind: "login" };
          });
        }
        if (response.status === 409 && answer.error === "other_user") return { kind: "other" };
        if (response.status >= 500) return { kind: "server" };
        return messageOf(response).then(function (message) {
          return { kind: "rejected", status: response.status, message: message };
        });
      });
    }, function () { return { kind: "offline" }; });
  }

  // Send every waiting item of the user, oldest first; stop at the first sign of no network.
  var sending = null;
  function flush() {
    if (sending) return sending;
    sending = items().then(function (all) {
      var waiting = all.filter(function (item) { return item.state === "waiting" && mine(item); })
        .sort(function (a, b) { return a.capturedAt - b.capturedAt; });
      var stop = null;
      return waiting.reduce(function (done, item) {
        return done.then(function () {
          if (stop) return;
          return attempt(item).then(function (result) {
            if (result.kind === "sent") return sent(item);
            if (result.kind === "rejected") return refused(item, result.message);
            // No network or no login: the next items would fare no better. A server error
            // or another user's item: try the next one.
            if (result.kind === "offline" || result.kind === "login") stop = result.kind;
          });
        });
      }, Promise.resolve()).then(function () { return stop; });
    }).then(function (stop) {
      sending = null;
      return show(stop).then(function () { return stop; });
    }, function () { sending = null; });
    return sending;
  }

  // Showing it ------------------------------------------------------------------------
  function show(stop) {
    return items().then(function (all) {
      var waiting = all.filter(function (i) { return i.state === "waiting" && mine(i); }).length;
      var rejected = all.filter(function (i) { return i.state === "rejected" && mine(i); }).length;
      if (status) {
        var lines = [];
        if (waiting) lines.push(text("waiting").replace("{n}", waiting));
        if (rejected) lines.push(text("rejected").replace("{n}", rejected));
        if (waiting && stop === "login") lines.push(text("login"));
        status.querySelector(".outbox-text").textContent = lines.join(" · ");
        status.querySelector("[data-outbox-login]").hidden = !(waiting && stop === "login");
        status.querySelector("[data-outbox-send]").hidden = !waiting;
        status.hidden = !lines.length;
      }
      list(all);
    });
  }

  // The outbox page: one card per item, with what became of it.
  function list(all) {
    var target = document.getElementById("outbox-items");
    var template = document.getElementById("outbox-item");
    if (!target || !template) return;
    target.textContent = "";
    all.sort(function (a, b) { return a.capturedAt - b.capturedAt; }).forEach(function (item) {
      var card = template.content.firstElementChild.cloneNode(true);
      card.querySelector("[data-part=title]").textContent = item.title;
      card.querySelector("[data-part=time]").textContent = when(item.capturedAt);
      var state = card.querySelector("[data-part=state]");
      if (!mine(item)) state.textContent = target.getAttribute("data-other");
      else if (item.state === "rejected") { state.textContent = item.error; state.className = "error"; }
      else state.textContent = target.getAttribute("data-waiting");
      var open = card.querySelector("[data-action=open]");
      open.hidden = !(item.state === "rejected" && mine(item));
      open.addEventListener("click", function () { reopen(item); });
      card.querySelector("[data-action=delete]").addEventListener("click", function () {
        if (confirm(target.getAttribute("data-delete-confirm"))) drop(item.key).then(show);
      });
      target.appendChild(card);
    });
    document.getElementById("outbox-empty").hidden = all.length > 0;
  }

  // The phone's time as the app's pages write times: 2026-11-27 23:48.
  function when(ms) {
    var d = new Date(ms), two = function (n) { return ("0" + n).slice(-2); };
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " +
      two(d.getHours()) + ":" + two(d.getMinutes());
  }

  // A refused item goes back to the server as an ordinary form, without its photos (the
  // server kept those under the submission key), so the answer shows as a page: the form
  // with its messages beside the steps. The item stays until the corrected form, which has
  // the same key, replaces it, or the worker deletes it.
  function reopen(item) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = item.url;
    form.enctype = "multipart/form-data";
    item.fields.concat([["csrf_token", token || pageToken()]]).forEach(function (pair) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = pair[0];
      input.value = pair[1];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  }

  // The scan form ---------------------------------------------------------------------
  function say(form, message) {
    var box = form.querySelector(".outbox-notice");
    if (!box) {
      box = document.createElement("p");
      box.className = "notice warn outbox-notice";
      box.setAttribute("role", "alert");
      form.prepend(box);
    }
    box.textContent = message;
    box.scrollIntoView({ block: "center" });
  }

  function submitted(event) {
    var form = event.target;
    if (!form.hasAttribute("data-outbox")) return;
    event.preventDefault();
    if (form.dataset.sent) return;  // a double tap sends once
    form.dataset.sent = "1";
    var button = form.querySelector("button:not([type=button])");
    var label = button.textContent;
    button.disabled = true;
    button.textContent = button.getAttribute("data-sending") || label;
    var again = function () { delete form.dataset.sent; button.disabled = false; button.textContent = label; };
    var ordinary = function () { form.submit(); };  // no storage (private mode, a full disk)
    var saving;
    try { saving = capture(form).then(earlierTimes); } catch (e) { return ordinary(); }
    saving.then(function (item) {
      return keep(item).then(function () { return attempt(item); }).then(function (result) {
        if (result.kind === "sent") {
          return sent(item).then(function () { location.assign(result.url); });
        }
        if (result.kind === "rejected") {
          // Let the server say what is wrong on a page of its own; the item waits for the
          // corrected form, not for another send.
          return refused(item, result.message, true).then(function () { reopen(item); });
        }
        again();
        say(form, text({ offline: "saved", login: "saved-login", other: "saved-other",
                         server: "saved-server" }[result.kind]));
        return show(result.kind);
      });
    }).catch(ordinary);
  }

  // A corrected form (the same key as a refused item) keeps the time the work was done.
  function earlierTimes(item) {
    return items().then(function (all) {
      var earlier = all.filter(function (i) { return i.key === item.key; })[0];
      if (!earlier) return item;
      var kept = {};
      earlier.fields.forEach(function (pair) { kept[pair[0]] = pair[1]; });
      item.fields.forEach(function (pair) {
        if (pair[0] === "captured_at" || pair[0] === "scan_ms") pair[1] = kept[pair[0]] || pair[1];
      });
      item.capturedAt = earlier.capturedAt;
      return item;
    });
  }

  function prepare() {
    document.querySelectorAll("form[data-outbox]").forEach(function (form) {
      var key = form.elements.submission_key;
      if (key && !key.value) {
        // A page kept for offline use: each opening is a new submission.
        var random = new Uint8Array(16);
        crypto.getRandomValues(random);
        key.value = Array.prototype.map.call(random, function (b) {
          return ("0" + b.toString(16)).slice(-2);
        }).join("");
      }
      if (form.hasAttribute("data-locate-me")) locate(form);
    });
  }

  // Where the phone is, for a spot that has coordinates. Asked once: a refusal is kept.
  function locate(form) {
    if (!navigator.geolocation || localStorage.getItem("rounds-location") === "refused") return;
    navigator.geolocation.getCurrentPosition(function (position) {
      [["latitude", position.coords.latitude], ["longitude", position.coords.longitude],
       ["accuracy", position.coords.accuracy]].forEach(function (pair) {
        var input = form.elements[pair[0]] || form.appendChild(document.createElement("input"));
        input.type = "hidden";
        input.name = pair[0];
        input.value = String(pair[1]);
      });
    }, function (error) {
      if (error.code === error.PERMISSION_DENIED) localStorage.setItem("rounds-location", "refused");
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  }

  // Logging out asks first when something waits, and the next page clears the phone.
  function loggingOut(event) {
    var form = event.target;
    if (!form.hasAttribute("data-logout") || form.dataset.confirmed) return;
    event.preventDefault();
    items().then(function (all) {
      var waiting = all.filter(mine).length;
      if (!waiting || confirm(text("logout-confirm").replace("{n}", waiting))) {
        form.dataset.confirmed = "1";
        form.submit();
      }
    }, function () { form.submit(); });
  }
  function forget(user) {
    localStorage.removeItem("rounds-kept");  // the service worker lets every kept page go
    items().then(function (all) {
      return Promise.all(all.filter(function (i) { return i.user === user; })
        .map(function (i) { return drop(i.key); }));
    }).then(show);
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "forget" });
    }
  }

  // The service worker keeps the app's shell; at the start of a shift (the start page, at
  // most every 15 minutes) it also keeps the scan pages of the worker's spots for the day.
  function worker() {
    if (!navigator.serviceWorker) return;
    navigator.serviceWorker.register("/sw.js").catch(function () {});
    navigator.serviceWorker.ready.then(function (registration) {
      // A page from the server says who is logged in; a kept copy or the outbox page
      // (which may be an old copy) does not.
      var kept = document.querySelector("input[name=offline_scan], #outbox-items");
      if (!kept) registration.active.postMessage({ type: "user", user: me() });
      // Who the pages were last kept for, and when: another worker's pages were let go.
      var last = (localStorage.getItem("rounds-kept") || "").split(" ");
      if (document.querySelector("[data-keep-today]") && navigator.onLine &&
          (last[0] !== me() || Date.now() - Number(last[1] || 0) > 15 * 60 * 1000)) {
        localStorage.setItem("rounds-kept", me() + " " + Date.now());
        registration.active.postMessage({ type: "keep-today" });
      }
    });
  }

  document.addEventListener("submit", submitted);
  document.addEventListener("submit", loggingOut);
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-outbox-send]")) flush();
  });
  window.addEventListener("online", flush);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") flush();
  });
  document.addEventListener("DOMContentLoaded", function () {
    var gone = document.body.getAttribute("data-logged-out");
    if (gone) forget(gone);
    var login = status && status.querySelector("[data-outbox-login]");
    if (login) login.href = document.body.getAttribute("data-login-url") + "?next=" +
      encodeURIComponent(location.pathname + location.search);
    prepare();
    flush();
    worker();
    var unsupported = document.getElementById("outbox-unsupported");
    if (unsupported) unsupported.hidden = true;
  });
  setInterval(flush, 60 * 1000);
})();
