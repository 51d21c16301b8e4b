// Searching: as you type (the query and the filters kept in the URL), under a changed filter, "more like this"
// from the viewer, by a photo chosen or dropped on the page, and again on the browser's back and forward.
import { $, getJson, say } from "./page.js";
import { apiUrl, filterParams, hasFilters, pageUrl, remember, viewFromUrl, withParams } from "./view.js";
import { currentFilters, listed, setFilterControls } from "./filters.js";
import { closeViewer, render, state } from "./grid.js";
import { showDuplicates } from "./duplicates.js";

const DEBOUNCE_MS = 250;

const input = $("q");
let typingTimer = 0;

function foundText(view, body) {
  const filtered = hasFilters(view.filters);
  if (!body.hits.length) return filtered ? "No photos match the filters" : "No photos found";
  const count = `${body.hits.length} photos` + (filtered ? " (filtered)" : "") + ` · ${body.took_ms} ms`;
  if (view.like) return `Photos like #${view.like} · ${count}`;
  return view.q.trim() ? count : `Newest first: ${count}`;
}

export async function show(view, how) {
  if (view.duplicates) return showDuplicates(view, how);
  if (state.inflight) state.inflight.abort();
  state.current = view;
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
  const controller = (state.inflight = new AbortController());
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

function typed(search) {
  // one search waits for the typing to settle, whichever box was typed in: a keystroke replaces the waiting one
  clearTimeout(typingTimer);
  if (search) typingTimer = setTimeout(search, DEBOUNCE_MS);
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
  if (filterParams(filters).toString() === filterParams(state.current.filters).toString()) return; // Enter after change
  if (state.current.upload && !input.value.trim()) searchByPhoto(state.current.upload);
  else if (state.current.like && !input.value.trim()) show({ q: "", like: state.current.like, filters }, "push");
  else searchNow("push");
}

function moreLikeThis() {
  if (state.selected < 0) return;
  const id = String(state.hits[state.selected].id);
  closeViewer();
  input.value = "";
  show({ q: "", like: id, filters: currentFilters() }, "push");
}

async function searchByPhoto(file) {
  if (!file) return;
  if (state.inflight) state.inflight.abort();
  input.value = "";
  const filters = currentFilters();
  state.current = { upload: file, filters };
  // the upload is not kept, so no URL can name it: the URL keeps the filters only
  const url = pageUrl({ q: "", like: "", filters });
  if (url !== location.pathname + location.search) history.pushState({ q: "", like: "", filters }, "", url);
  say(`Searching by ${file.name} …`);
  const controller = (state.inflight = new AbortController());
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

export function wireSearch() {
  input.addEventListener("input", () => {
    typed(() => show({ q: input.value, like: "", filters: currentFilters() }, "type"));
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
      typed(listed($(id), $(list)) ? refilter : null); // picked from the list, or emptied
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
  $("back-to-search").addEventListener("click", () => searchNow("push"));
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
}
