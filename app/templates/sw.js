// Rounds service worker: keeps the app's shell, and the scan pages of the worker's spots for
// the day, so a label opens without signal. Forms are never stored here: the page's outbox
// (outbox.js) keeps them. A new version (the shell files changed) replaces the old shell.
"use strict";
const VERSION = {{ version|tojson }};
const SHELL = "shell-" + VERSION;
const SHELL_URLS = {{ shell|tojson }};
const OFFLINE_PAGE = {{ offline_page|tojson }};
const NETWORK_WAIT = 6000;  // ms; a basement's one bar of signal is no signal
// Kept pages belong to one user ("pages-<id>"): on a shared phone, a page kept for the guard
// is never shown to the cleaner. Every page that loads says who is logged in ("user").
const META = "meta";

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
    event.respondWith(asset(request));
  } else if (request.mode === "navigate") {
    event.respondWith(page(request, url));
  }
});

// A kept page may name an older version of a file (?v=...): offline, the current one serves.
async function asset(request) {
  const kept = await caches.match(request);
  if (kept) return kept;
  try {
    return await fetch(request);
  } catch (error) {
    return (await caches.match(request, { ignoreSearch: true })) || Response.error();
  }
}

async function currentUser() {
  const answer = await caches.match("/__user", { cacheName: META });
  return answer ? answer.text() : "";
}

// Pages come from the network; without it, from what the phone kept for the user logged in,
// else the outbox page. Only a kept page is given up on after a wait: a slow export must
// still arrive.
async function page(request, url) {
  const options = { ignoreSearch: true, ignoreVary: true };
  const user = await currentUser();
  const pages = "pages-" + user;
  const kept = user ? await caches.match(url.pathname, { cacheName: pages, ...options }) : undefined;
  try {
    const response = await (kept ? within(fetch(request), NETWORK_WAIT) : fetch(request));
    if (user && url.pathname === "/" && response.ok && !response.redirected) {
      await (await caches.open(pages)).put("/", response.clone());
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
  const message = event.data || {};
  if (message.type === "user") event.waitUntil(setUser(message.user || ""));
  if (message.type === "keep-today") event.waitUntil(keepToday());
  if (message.type === "forget") event.waitUntil(forgetPages());
});

// Someone else logged in (or nobody is): the pages kept for anyone else go.
async function setUser(user) {
  if (user === await currentUser()) return;
  await forgetPages(user);
  await (await caches.open(META)).put("/__user", new Response(user));
}

async function forgetPages(except) {
  const names = await caches.keys();
  await Promise.all(names.filter((name) => name.startsWith("pages-") && name !== "pages-" + except)
    .map((name) => caches.delete(name)));
}

// The scan pages of today's rounds, as copies made for offline use (no scan logged).
async function keepToday() {
  const answer = await fetch("/offline/pages", { credentials: "same-origin" });
  if (!answer.ok || answer.redirected) return;
  const { user, pages } = await answer.json();
  await setUser(String(user));
  const cache = await caches.open("pages-" + user);
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
