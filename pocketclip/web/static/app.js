// pocketclip serve, in the browser: search as you type with the query in the URL, a grid driven by the
// keyboard, a viewer with "more like this", search by a dropped photo, and "index now" with its progress
// streamed from the server. Plain DOM, no build step; everything it shows comes from the JSON API.
"use strict";

const DEBOUNCE_MS = 250;
const NEW_ENTRY_AFTER_MS = 1500; // typing that settles within this time updates the same history entry

const $ = (id) => document.getElementById(id);
const grid = $("grid");
const input = $("q");
const viewer = $("viewer");

let hits = []; // {rank, id, path, score}, as the grid shows them
let selected = -1;
let inflight = null; // the AbortController of the search on its way: a newer one cancels it
let typingTimer = 0;
let lastTypedAt = 0;

function viewFromUrl() {
  const params = new URLSearchParams(location.search);
  return { q: params.get("q") || "", like: params.get("like") || "" };
}

function pageUrl(view) {
  if (view.like) return "/?like=" + encodeURIComponent(view.like);
  return view.q ? "/?" + new URLSearchParams({ q: view.q }) : "/";
}

function apiUrl(view) {
  if (view.like) return "/api/similar/" + encodeURIComponent(view.like);
  return view.q.trim() ? "/api/search?" + new URLSearchParams({ q: view.q }) : null;
}

async function getJson(url, options) {
  const response = await fetch(url, options);
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    // a proxy's HTML error page: the status line says enough
  }
  if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  return body;
}

function say(text, isError = false) {
  $("message").textContent = text || "";
  $("message").classList.toggle("error", isError);
}

function tile(hit) {
  const link = document.createElement("a");
  link.href = "/photo/" + hit.id;
  link.dataset.id = hit.id;
  link.title = `${hit.path} · score ${hit.score.toFixed(4)}`;
  const img = document.createElement("img");
  img.loading = "lazy";
  img.alt = hit.path;
  img.src = "/thumb/" + hit.id;
  img.addEventListener("error", () => markMissing(img));
  link.append(img);
  const item = document.createElement("li");
  item.append(link);
  return item;
}

function markMissing(img) {
  // the store lists the photo but the server will not serve its file (moved, deleted, outside the root)
  img.closest("a").classList.add("missing");
  img.closest("a").dataset.missing = "photo unavailable, index again";
}

function render(newHits) {
  hits = newHits;
  selected = -1;
  grid.replaceChildren(...hits.map(tile));
}

function hitsFromGrid() {
  // the server rendered the first results into the page: adopt them instead of searching again
  return Array.from(grid.querySelectorAll("a"), (link, i) => ({
    rank: i + 1, id: Number(link.dataset.id), path: link.dataset.path, score: Number(link.dataset.score),
  }));
}

function remember(view, how) {
  const url = pageUrl(view);
  if (how === "none" || url === location.pathname + location.search) return;
  const now = Date.now();
  const sameBurst = how === "type" && now - lastTypedAt < NEW_ENTRY_AFTER_MS;
  lastTypedAt = how === "type" ? now : 0;
  if (sameBurst) history.replaceState(view, "", url);
  else history.pushState(view, "", url);
}

async function show(view, how) {
  if (inflight) inflight.abort();
  remember(view, how);
  const url = apiUrl(view);
  $("json-link").href = url || "/api/status";
  document.title = (view.q ? view.q + " · " : view.like ? `like #${view.like} · ` : "") + "pocketclip";
  if (!url) {
    render([]);
    say("");
    return;
  }
  const controller = (inflight = new AbortController());
  try {
    const body = await getJson(url, { signal: controller.signal });
    render(body.hits);
    const found = body.hits.length ? `${body.hits.length} photos · ${body.took_ms} ms` : "No photos found";
    say(view.like ? `Photos like #${view.like} · ${found}` : found);
  } catch (error) {
    if (error.name === "AbortError") return;
    render([]);
    say(error.message, true);
  }
}

function links() {
  return Array.from(grid.querySelectorAll("a"));
}

function select(i) {
  const all = links();
  if (!all.length) return;
  selected = Math.max(0, Math.min(i, all.length - 1));
  all.forEach((link, j) => link.classList.toggle("selected", j === selected));
  all[selected].focus();
}

function columns() {
  // the grid reflows with the window: count the tiles on the first row
  const all = links();
  if (!all.length) return 1;
  const top = all[0].getBoundingClientRect().top;
  const first = all.findIndex((link) => Math.abs(link.getBoundingClientRect().top - top) > 2);
  return first === -1 ? all.length : first;
}

function openViewer(i) {
  if (i < 0 || i >= hits.length) return;
  select(i);
  const hit = hits[selected];
  $("viewer-img").src = "/photo/" + hit.id;
  $("viewer-img").alt = hit.path;
  $("viewer-caption").textContent = `${hit.path} · score ${hit.score.toFixed(4)} · #${hit.id}`;
  $("viewer-original").href = "/photo/" + hit.id;
  viewer.hidden = false;
  $("more-like-this").focus();
}

function closeViewer() {
  if (viewer.hidden) return;
  viewer.hidden = true;
  $("viewer-img").removeAttribute("src");
  if (selected >= 0) select(selected);
}

function moreLikeThis() {
  if (selected < 0) return;
  const id = String(hits[selected].id);
  closeViewer();
  input.value = "";
  show({ q: "", like: id }, "push");
}

async function searchByPhoto(file) {
  if (!file) return;
  if (inflight) inflight.abort();
  input.value = "";
  history.pushState({ q: "", like: "" }, "", "/"); // the upload is not kept, so no URL can name it
  say(`Searching by ${file.name} …`);
  try {
    const body = await getJson("/api/search-image", {
      method: "POST", body: file, headers: { "Content-Type": file.type || "application/octet-stream" },
    });
    render(body.hits);
    say(`Photos like ${file.name} (the photo was not kept) · ${body.took_ms} ms`);
  } catch (error) {
    render([]);
    say(error.message, true);
  }
}

function statusLine(s) {
  const fingerprint = (s.fingerprint || "").slice(0, 12);
  const last = s.last_indexed ? ` · last indexed ${s.last_indexed}` : "";
  return `${s.ok} photos · ${s.error} errors · ${s.model || "model"} (${fingerprint})${last}`;
}

function showJob(job) {
  const bar = $("index-progress");
  bar.hidden = job.state !== "running";
  bar.max = Math.max(job.total, 1);
  bar.value = job.done;
  $("index-now").disabled = job.state === "running";
  const r = job.report;
  $("index-state").textContent = {
    idle: "",
    running: `indexing ${job.done} / ${job.total}`,
    done: r && `indexed: ${r.embedded} new, ${r.moved} moved, ${r.deleted} deleted, ${r.errors} errors`,
    failed: `index failed: ${job.error}`,
  }[job.state] || "";
}

async function finished() {
  try {
    $("status").textContent = statusLine(await getJson("/api/status"));
  } catch (error) {
    // the next index run or reload shows it
  }
  const view = viewFromUrl();
  if (apiUrl(view)) show(view, "none"); // new photos may now match
}

function follow() {
  const events = new EventSource("/api/index/events");
  events.onmessage = (event) => {
    const job = JSON.parse(event.data);
    showJob(job);
    if (job.state !== "running") {
      events.close();
      finished();
    }
  };
  events.onerror = () => {
    events.close();
    setTimeout(poll, 1000); // the stream broke (a proxy, a restart): fall back to polling
  };
}

async function poll() {
  try {
    const job = await getJson("/api/index/progress");
    showJob(job);
    if (job.state === "running") setTimeout(poll, 1000);
    else finished();
  } catch (error) {
    $("index-state").textContent = error.message;
  }
}

async function startIndex() {
  $("index-now").disabled = true;
  try {
    showJob(await getJson("/api/index", { method: "POST" }));
    follow();
  } catch (error) {
    $("index-state").textContent = error.message;
    $("index-now").disabled = false;
  }
}

function onKey(event) {
  if (!viewer.hidden) {
    if (event.key === "Escape") closeViewer();
    else if (event.key === "ArrowRight") openViewer(selected + 1);
    else if (event.key === "ArrowLeft") openViewer(selected - 1);
    else return;
    event.preventDefault();
    return;
  }
  if (event.target === input) {
    if (event.key === "ArrowDown" && hits.length) {
      event.preventDefault();
      select(0);
    } else if (event.key === "Escape") input.blur();
    return;
  }
  if (event.target instanceof HTMLInputElement || event.ctrlKey || event.metaKey || event.altKey) return;
  const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(), ArrowUp: -columns() };
  if (event.key === "/") {
    event.preventDefault();
    input.focus();
    input.select();
  } else if (event.key in moves && hits.length) {
    event.preventDefault();
    const next = selected + moves[event.key];
    if (next < 0 && event.key === "ArrowUp") input.focus();
    else select(selected < 0 ? 0 : next);
  } else if (event.key === "Enter" && selected >= 0) {
    event.preventDefault();
    openViewer(selected);
  } else if (event.key === "Escape") {
    document.activeElement.blur();
  }
}

function wire() {
  input.addEventListener("input", () => {
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => show({ q: input.value, like: "" }, "type"), DEBOUNCE_MS);
  });
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(typingTimer);
    show({ q: input.value, like: "" }, "push");
  });
  window.addEventListener("popstate", () => {
    const view = viewFromUrl();
    input.value = view.q;
    closeViewer();
    show(view, "none");
  });
  grid.addEventListener("click", (event) => {
    const link = event.target.closest("a");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return; // a new tab gets the photo itself
    event.preventDefault();
    openViewer(links().indexOf(link));
  });
  viewer.addEventListener("click", (event) => {
    if (event.target === viewer) closeViewer();
  });
  $("viewer-close").addEventListener("click", closeViewer);
  $("more-like-this").addEventListener("click", moreLikeThis);
  $("upload").addEventListener("change", (event) => {
    searchByPhoto(event.target.files[0]);
    event.target.value = "";
  });
  const hint = $("drop-hint");
  document.addEventListener("dragover", (event) => {
    if (!event.dataTransfer.types.includes("Files")) return;
    event.preventDefault();
    hint.hidden = false;
  });
  document.addEventListener("dragleave", (event) => {
    if (!event.relatedTarget) hint.hidden = true;
  });
  document.addEventListener("drop", (event) => {
    hint.hidden = true;
    if (!event.dataTransfer.files.length) return;
    event.preventDefault();
    searchByPhoto(event.dataTransfer.files[0]);
  });
  document.addEventListener("keydown", onKey);
  $("index-now").addEventListener("click", startIndex);
}

wire();
hits = hitsFromGrid();
for (const img of grid.querySelectorAll("img")) {
  // server-rendered thumbnails may have failed before this script ran
  if (img.complete && img.naturalWidth === 0) markMissing(img);
  else img.addEventListener("error", () => markMissing(img));
}
history.replaceState(viewFromUrl(), "", location.href);
getJson("/api/index/progress").then((job) => {
  showJob(job);
  if (job.state === "running") follow(); // a reload while indexing keeps showing the progress
}).catch(() => {});
