// pocketclip serve, in the browser: search as you type with the query and the filters in the URL, a grid
// driven by the keyboard with each photo's date and place under it, a viewer with "more like this", search
// by a dropped photo, the library's duplicates, and "index now" with its progress streamed from the server.
// Plain DOM, no build step; everything it shows comes from the JSON API.
"use strict";

const DEBOUNCE_MS = 250;
const FILTERS = ["after", "before", "folder", "place", "near", "within_km", "camera", "type"]; // the API's names
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const NEW_ENTRY_AFTER_MS = 1500; // typing that settles within this time updates the same history entry

const $ = (id) => document.getElementById(id);
const grid = $("grid");
const input = $("q");
const viewer = $("viewer");
const groupsBox = $("duplicate-groups");

let hits = []; // {rank, id, path, score, taken_at, place, ...}, as the grid (or the duplicates) shows them
let current = {}; // what the page shows: a view, or {upload: File, filters} (kept in memory only) for a photo
let selected = -1;
let inflight = null; // the AbortController of the search on its way: a newer one cancels it
let typingTimer = 0;
let lastTypedAt = 0;

function viewFromUrl() {
  const params = new URLSearchParams(location.search);
  const filters = Object.fromEntries(FILTERS.map((name) => [name, (params.get(name) || "").trim()]));
  return {
    q: params.get("q") || "", like: params.get("like") || "", filters,
    duplicates: params.has("duplicates"), threshold: params.get("threshold") || "",
  };
}

function filterParams(filters) {
  // blanks are not limits: only the filters given travel
  const params = new URLSearchParams();
  for (const name of FILTERS) if (filters && filters[name]) params.set(name, filters[name]);
  return params;
}

function hasFilters(filters) {
  return FILTERS.some((name) => filters && filters[name]);
}

function withParams(path, params) {
  const query = params.toString();
  return query ? path + "?" + query : path;
}

function pageUrl(view) {
  if (view.duplicates) {
    return withParams("/", new URLSearchParams(view.threshold ? { duplicates: 1, threshold: view.threshold }
      : { duplicates: 1 }));
  }
  const params = new URLSearchParams(view.like ? { like: view.like } : view.q ? { q: view.q } : {});
  for (const [name, value] of filterParams(view.filters)) params.set(name, value);
  return withParams("/", params);
}

function apiUrl(view) {
  if (view.duplicates) {
    return withParams("/api/duplicates", new URLSearchParams(view.threshold ? { threshold: view.threshold } : {}));
  }
  const filters = filterParams(view.filters);
  if (view.like) return withParams("/api/similar/" + encodeURIComponent(view.like), filters);
  if (!view.q.trim() && !hasFilters(view.filters)) return null;
  return "/api/search?" + new URLSearchParams([["q", view.q], ...filters]); // no query: the newest photos they select
}

function dateForInput(text, end) {
  // a date input holds a whole day: "2024" after is 2024-01-01, before is 2024-12-31 (the API's bounds are inclusive)
  const found = /^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?/.exec(text || "");
  if (!found) return "";
  const [year, month, day] = [Number(found[1]), found[2] && Number(found[2]), found[3] && Number(found[3])];
  const m = month || (end ? 12 : 1);
  const d = day || (end ? new Date(Date.UTC(year, m, 0)).getUTCDate() : 1);
  return `${found[1]}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

function currentFilters() {
  // the controls' values, as the API takes them (a distance only with the place it is from)
  const near = $("f-near").value.trim();
  return {
    after: $("f-after").value, before: $("f-before").value, folder: $("f-folder").value,
    place: $("f-place").value.trim(), near, within_km: near ? $("f-within").value.trim() : "",
    camera: $("f-camera").value.trim(), type: $("f-type").value,
  };
}

function chooseOption(select, value) {
  // a value the choices do not hold yet (the facets not loaded, a URL typed by hand) is added, not dropped
  if (value && !Array.from(select.options).some((option) => option.value === value)) {
    select.append(new Option(value, value));
  }
  select.value = value || "";
}

function setFilterControls(filters) {
  $("f-after").value = dateForInput(filters.after, false);
  $("f-before").value = dateForInput(filters.before, true);
  chooseOption($("f-folder"), filters.folder);
  $("f-place").value = filters.place || "";
  $("f-near").value = filters.near || "";
  $("f-within").value = filters.within_km || "";
  $("f-camera").value = filters.camera || "";
  chooseOption($("f-type"), filters.type);
  $("clear-filters").hidden = !hasFilters(filters);
}

function withAncestors(folders) {
  // a folder selects the folders below it too, so each parent is a choice of its own
  const all = new Set();
  for (const folder of folders) {
    const parts = folder.split("/");
    parts.forEach((_, i) => all.add(parts.slice(0, i + 1).join("/")));
  }
  return Array.from(all).sort();
}

function fillChoices(facets) {
  const keep = currentFilters();
  const folder = $("f-folder");
  folder.replaceChildren(new Option("All folders", ""), ...withAncestors(facets.folders).map((f) => new Option(f, f)));
  const type = $("f-type");
  type.replaceChildren(new Option("Any type", ""), ...facets.types.map((t) => new Option(t.toUpperCase(), t)));
  chooseOption(folder, keep.folder);
  chooseOption(type, keep.type);
  const places = Array.from(new Set([...facets.cities, ...facets.regions, ...facets.countries])).sort();
  $("place-options").replaceChildren(...places.map((p) => new Option(p)));
  $("camera-options").replaceChildren(...facets.cameras.map((c) => new Option(c)));
  const [first, last] = [facets.first_taken, facets.last_taken].map((taken) => (taken || "").slice(0, 10));
  $("f-after").title = $("f-before").title = first ? `photos taken ${first} to ${last}` : "no photo says when";
}

async function loadFacets() {
  try {
    fillChoices(await getJson("/api/facets"));
  } catch (error) {
    // the controls still take typed values; the search says what is wrong with one
  }
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

function scoreText(score) {
  return score === null || score === undefined ? "" : ` · score ${score.toFixed(4)}`;
}

function takenText(takenAt) {
  // "2023-06-14T10:30:00", the photo's local time, as "14 Jun 2023, 10:30"
  const found = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(takenAt || "");
  return found ? `${Number(found[3])} ${MONTHS[Number(found[2]) - 1]} ${found[1]}, ${found[4]}:${found[5]}` : "";
}

function placeText(place) {
  // "Lisbon, Lisbon, Portugal" as "Lisbon, Portugal": a city that names its region once
  return (place || "").split(", ").filter((part, i, parts) => part !== parts[i - 1]).join(", ");
}

function factsLine(hit) {
  // under a tile: when and where the photo was taken, when it says
  const line = document.createElement("p");
  line.className = "facts";
  if (hit.taken_at) {
    const time = document.createElement("time");
    time.dateTime = hit.taken_at;
    time.textContent = takenText(hit.taken_at);
    time.title = `taken ${hit.taken_at.replace("T", " ")}` + (hit.taken_offset ? ` (UTC${hit.taken_offset})` : "");
    line.append(time);
  }
  if (hit.place) {
    const place = document.createElement("span");
    place.className = "place";
    place.textContent = placeText(hit.place);
    place.title = hit.place;
    line.append(place);
  }
  return line;
}

function tile(hit, caption) {
  const link = document.createElement("a");
  link.href = "/photo/" + hit.id;
  link.dataset.id = hit.id;
  link.title = hit.path + scoreText(hit.score);
  const img = document.createElement("img");
  img.loading = "lazy";
  img.alt = hit.path;
  img.src = "/thumb/" + hit.id;
  img.addEventListener("error", () => markMissing(img));
  link.append(img);
  const item = document.createElement("li");
  item.append(link, caption || factsLine(hit));
  return item;
}

function markMissing(img) {
  // the store lists the photo but the server will not serve its file (moved, deleted, outside the root)
  img.closest("a").classList.add("missing");
  img.closest("a").dataset.missing = "photo unavailable, index again";
}

function showing(duplicates) {
  grid.hidden = duplicates;
  $("duplicates").hidden = !duplicates;
  $("show-duplicates").disabled = duplicates;
}

function render(newHits) {
  showing(false);
  hits = newHits;
  selected = -1;
  grid.replaceChildren(...hits.map((hit) => tile(hit)));
}

function hitsFromGrid() {
  // the server rendered the first results into the page: adopt them instead of searching again
  return Array.from(grid.querySelectorAll("a"), (link, i) => ({
    rank: i + 1, id: Number(link.dataset.id), path: link.dataset.path,
    score: link.dataset.score === undefined ? null : Number(link.dataset.score),
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

function foundText(view, body) {
  const filtered = hasFilters(view.filters);
  if (!body.hits.length) return filtered ? "No photos match the filters" : "No photos found";
  const count = `${body.hits.length} photos` + (filtered ? " (filtered)" : "") + ` · ${body.took_ms} ms`;
  if (view.like) return `Photos like #${view.like} · ${count}`;
  return view.q.trim() ? count : `Newest first: ${count}`;
}

async function show(view, how) {
  if (view.duplicates) return showDuplicates(view, how);
  if (inflight) inflight.abort();
  current = view;
  remember(view, how);
  const url = apiUrl(view);
  $("json-link").href = url || "/api/status";
  const newest = hasFilters(view.filters) ? "newest · " : "";
  document.title = (view.q ? view.q + " · " : view.like ? `like #${view.like} · ` : newest) + "pocketclip";
  if (!url) {
    render([]);
    say("");
    return;
  }
  const controller = (inflight = new AbortController());
  try {
    const body = await getJson(url, { signal: controller.signal });
    render(body.hits);
    say(foundText(view, body));
  } catch (error) {
    if (error.name === "AbortError") return;
    render([]);
    say(error.message, true); // a bad filter value is a 400 whose one line says what to give instead
  }
}

function searchNow(how) {
  // a text search (or, with an empty box, the newest photos the filters select)
  clearTimeout(typingTimer);
  show({ q: input.value, like: "", filters: currentFilters() }, how);
}

function refilter() {
  // a filter changed: the same search again under the new filters (a photo search by the same photo)
  const filters = currentFilters();
  $("clear-filters").hidden = !hasFilters(filters);
  if (filterParams(filters).toString() === filterParams(current.filters).toString()) return; // Enter after change
  if (current.upload && !input.value.trim()) searchByPhoto(current.upload);
  else if (current.like && !input.value.trim()) show({ q: "", like: current.like, filters }, "push");
  else searchNow("push");
}

function groupCaption(photo, kind) {
  const line = document.createElement("p");
  line.className = "facts";
  const path = document.createElement("span");
  path.textContent = photo.path;
  const score = document.createElement("span");
  score.className = "score";
  score.textContent = `cosine ${photo.score.toFixed(4)}` + (kind === "exact" ? " · same bytes" : "");
  line.append(path, score);
  return line;
}

function groupSection(group) {
  const exact = group.kind === "exact";
  const section = document.createElement("section");
  section.className = "duplicate-group " + group.kind;
  const title = document.createElement("h2");
  const label = exact ? "Exact copies" : "Near-duplicates";
  title.textContent = `${label} · ${group.photos.length} photos`;
  title.title = exact ? "the same bytes in several files" : "cosine of each photo with the first";
  const row = document.createElement("ol");
  row.className = "grid duplicate-row";
  row.append(...group.photos.map((photo) => tile(photo, groupCaption(photo, group.kind))));
  section.append(title, row);
  return section;
}

async function showDuplicates(view, how) {
  if (inflight) inflight.abort();
  current = view;
  remember(view, how);
  closeViewer();
  showing(true);
  hits = [];
  selected = -1;
  const url = apiUrl(view);
  $("json-link").href = url;
  $("dup-threshold").value = view.threshold || "";
  document.title = "duplicates · pocketclip";
  say("Looking for duplicates …");
  const controller = (inflight = new AbortController());
  try {
    const body = await getJson(url, { signal: controller.signal });
    hits = body.groups.flatMap((group) => group.photos);
    groupsBox.replaceChildren(...body.groups.map(groupSection));
    const exact = body.groups.filter((group) => group.kind === "exact").length;
    const counted = [[exact, "of exact copies"], [body.groups.length - exact, "of near-duplicates"]]
      .filter(([n]) => n).map(([n, what]) => `${n} ${n === 1 ? "group" : "groups"} ${what}`);
    say(body.groups.length ? `${counted.join(", ")} · ${hits.length} photos · ${body.took_ms} ms`
      : `No duplicates · ${body.took_ms} ms`);
  } catch (error) {
    if (error.name === "AbortError") return;
    groupsBox.replaceChildren();
    say(error.message, true);
  }
}

function backToSearch() {
  searchNow("push");
}

function links() {
  return Array.from((grid.hidden ? groupsBox : grid).querySelectorAll("a[data-id]"));
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
  const facts = [takenText(hit.taken_at), placeText(hit.place), hit.camera].filter(Boolean);
  $("viewer-caption").textContent = hit.path + scoreText(hit.score) + ` · #${hit.id}` +
    facts.map((fact) => " · " + fact).join("");
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
  show({ q: "", like: id, filters: currentFilters() }, "push");
}

async function searchByPhoto(file) {
  if (!file) return;
  if (inflight) inflight.abort();
  input.value = "";
  const filters = currentFilters();
  current = { upload: file, filters };
  // the upload is not kept, so no URL can name it: the URL keeps the filters only
  const url = pageUrl({ q: "", like: "", filters });
  if (url !== location.pathname + location.search) history.pushState({ q: "", like: "", filters }, "", url);
  say(`Searching by ${file.name} …`);
  const controller = (inflight = new AbortController());
  try {
    const body = await getJson(withParams("/api/search-image", filterParams(filters)), {
      method: "POST", body: file, headers: { "Content-Type": file.type || "application/octet-stream" },
      signal: controller.signal,
    });
    render(body.hits);
    const found = body.hits.length ? `${body.hits.length} photos` + (hasFilters(filters) ? " (filtered)" : "")
      : "no photos match the filters";
    say(`Photos like ${file.name} (the photo was not kept) · ${found} · ${body.took_ms} ms`);
  } catch (error) {
    if (error.name === "AbortError") return;
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
  loadFacets(); // new folders, places, cameras
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
  const control = event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement;
  if (control || event.ctrlKey || event.metaKey || event.altKey) return; // a filter control keeps its keys
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

function listed(input, list) {
  // a typed value that is one of the datalist's choices (or nothing): worth searching at once
  const value = input.value.trim().toLowerCase();
  return !value || Array.from(list.options).some((option) => option.value.toLowerCase() === value);
}

function onTileClick(event) {
  const link = event.target.closest("a");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return; // a new tab gets the photo itself
  event.preventDefault();
  openViewer(links().indexOf(link));
}

function wire() {
  input.addEventListener("input", () => {
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => show({ q: input.value, like: "", filters: currentFilters() }, "type"), DEBOUNCE_MS);
  });
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if ($("filters").contains(document.activeElement)) refilter(); // Enter in a filter box
    else searchNow("push");
  });
  for (const id of ["f-after", "f-before", "f-folder", "f-type", "f-place", "f-near", "f-within", "f-camera"]) {
    $(id).addEventListener("change", refilter); // a choice made, a date picked, a box left
  }
  for (const [id, list] of [["f-place", "place-options"], ["f-camera", "camera-options"]]) {
    $(id).addEventListener("input", () => {
      clearTimeout(typingTimer);
      if (listed($(id), $(list))) typingTimer = setTimeout(refilter, DEBOUNCE_MS); // picked from the list, or emptied
    });
  }
  $("clear-filters").addEventListener("click", () => {
    setFilterControls({});
    refilter();
  });
  window.addEventListener("popstate", () => {
    const view = viewFromUrl();
    input.value = view.q;
    setFilterControls(view.filters);
    closeViewer();
    show(view, "none");
  });
  grid.addEventListener("click", onTileClick);
  groupsBox.addEventListener("click", onTileClick);
  $("show-duplicates").addEventListener("click", () => showDuplicates({ duplicates: true, threshold: "" }, "push"));
  $("back-to-search").addEventListener("click", backToSearch);
  $("dup-threshold").addEventListener("change", (event) => {
    showDuplicates({ duplicates: true, threshold: event.target.value.trim() }, "push");
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
const initial = viewFromUrl();
setFilterControls(initial.filters);
current = initial;
history.replaceState(initial, "", location.href);
loadFacets();
// The server renders a query's hits without their dates and places, and renders no filters: ask the API then.
if (initial.duplicates || hasFilters(initial.filters) || (hits.length && !grid.querySelector(".facts"))) {
  show(initial, "none");
}
getJson("/api/index/progress").then((job) => {
  showJob(job);
  if (job.state === "running") follow(); // a reload while indexing keeps showing the progress
}).catch(() => {});
