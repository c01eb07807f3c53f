// Rounds service worker: keeps the app's shell, and the scan pages of the worker's spots for
// the day, so a label opens without signal. Forms are never stored here: the page's outbox
// (outbox.js) keeps them. A new version (the shell files changed) replaces the old shell.
"use strict";
const VERSION = {{ version|tojson }};
const SHELL = "shell-" + VERSION;
const PAGES = "pages";
const SHELL_URLS = {{ shell|tojson }};
const OFFLINE_PAGE = {{ offline_page|tojson }};
const NETWORK_WAIT = 6000;  // ms; a basement's one bar of signal is no signal

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(SHELL_URLS))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((names) => Promise.all(names
    .filter((name) => name.startsWith("shell-") && name !== SHELL)
    .map((name) => caches.delete(name)))).then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request).then((kept) => kept || fetch(request)));
  } else if (request.mode === "navigate") {
    event.respondWith(page(request, url));
  }
});

// Pages come from the network; without it, from what the phone kept, else the outbox page.
// Only a page the phone kept is given up on after a wait: a slow export must still arrive.
async function page(request, url) {
  const options = { ignoreSearch: true, ignoreVary: true };
  const kept = await caches.match(url.pathname, { cacheName: PAGES, ...options });
  try {
    const response = await (kept ? within(fetch(request), NETWORK_WAIT) : fetch(request));
    if (url.pathname === "/" && response.ok && !response.redirected) {
      const pages = await caches.open(PAGES);
      await pages.put("/", response.clone());
    }
    return response;
  } catch (error) {
    return kept || (await caches.match(OFFLINE_PAGE, options)) || Response.error();
  }
}

function within(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then((value) => { clearTimeout(timer); resolve(value); },
                 (error) => { clearTimeout(timer); reject(error); });
  });
}

self.addEventListener("message", (event) => {
  if (event.data === "keep-today") event.waitUntil(keepToday());
  if (event.data === "forget") event.waitUntil(caches.delete(PAGES));
});

// The scan pages of today's rounds, as copies made for offline use (no scan logged).
async function keepToday() {
  const answer = await fetch("/offline/pages", { credentials: "same-origin" });
  if (!answer.ok || answer.redirected) return;
  const { pages } = await answer.json();
  const cache = await caches.open(PAGES);
  for (const url of pages) {
    const copy = await fetch(url, { credentials: "same-origin",
                                    headers: { "X-Rounds-Offline-Copy": "1" } });
    if (copy.ok && !copy.redirected) await cache.put(url, copy);
  }
  for (const request of await cache.keys()) {
    const path = new URL(request.url).pathname;
    if (path.startsWith("/t/") && !pages.includes(path)) await cache.delete(request);
  }
}
