// The results: the grid of tiles (or the duplicates' rows), moved through with the keyboard, and the viewer
// that opens a photo from it. `state` is what the page shows now, shared by the search and the duplicates.
import { $ } from "./page.js";
import { placeText, scoreText, takenText, tile } from "./tiles.js";

export const grid = $("grid");
export const groupsBox = $("duplicate-groups");
const input = $("q");
const viewer = $("viewer");

export const state = {
  hits: [], // {rank, id, path, score, taken_at, place, ...}, as the grid (or the duplicates) shows them
  current: {}, // what the page shows: a view, or {upload: File, filters} (kept in memory only) for a photo
  selected: -1,
  inflight: null, // the AbortController of the search on its way: a newer one cancels it
};

export function showing(duplicates) {
  grid.hidden = duplicates;
  $("duplicates").hidden = !duplicates;
  $("show-duplicates").disabled = duplicates;
}

export function render(newHits) {
  showing(false);
  state.hits = newHits;
  state.selected = -1;
  grid.replaceChildren(...state.hits.map((hit) => tile(hit)));
}

export function hitsFromGrid() {
  // the server rendered the first results into the page: adopt them instead of searching again
  return Array.from(grid.querySelectorAll("a"), (link, i) => ({
    rank: i + 1, id: Number(link.dataset.id), path: link.dataset.path,
    score: link.dataset.score === undefined ? null : Number(link.dataset.score),
  }));
}

function links() {
  return Array.from((grid.hidden ? groupsBox : grid).querySelectorAll("a[data-id]"));
}

function select(i) {
  const all = links();
  if (!all.length) return;
  state.selected = Math.max(0, Math.min(i, all.length - 1));
  all.forEach((link, j) => link.classList.toggle("selected", j === state.selected));
  all[state.selected].focus();
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
  if (i < 0 || i >= state.hits.length) return;
  select(i);
  const hit = state.hits[state.selected];
  $("viewer-img").src = "/photo/" + hit.id;
  $("viewer-img").alt = hit.path;
  const facts = [takenText(hit.taken_at), placeText(hit.place), hit.camera].filter(Boolean);
  $("viewer-caption").textContent = hit.path + scoreText(hit.score) + ` · #${hit.id}` +
    facts.map((fact) => " · " + fact).join("");
  $("viewer-original").href = "/photo/" + hit.id;
  viewer.hidden = false;
  $("more-like-this").focus();
}

export function closeViewer() {
  if (viewer.hidden) return;
  viewer.hidden = true;
  $("viewer-img").removeAttribute("src");
  if (state.selected >= 0) select(state.selected);
}

function onKey(event) {
  if (!viewer.hidden) {
    if (event.key === "Escape") closeViewer();
    else if (event.key === "ArrowRight") openViewer(state.selected + 1);
    else if (event.key === "ArrowLeft") openViewer(state.selected - 1);
    else return;
    event.preventDefault();
    return;
  }
  if (event.target === input) {
    if (event.key === "ArrowDown" && state.hits.length) {
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
  } else if (event.key in moves && state.hits.length) {
    event.preventDefault();
    const next = state.selected + moves[event.key];
    if (next < 0 && event.key === "ArrowUp") input.focus();
    else select(state.selected < 0 ? 0 : next);
  } else if (event.key === "Enter" && state.selected >= 0) {
    event.preventDefault();
    openViewer(state.selected);
  } else if (event.key === "Escape") {
    document.activeElement.blur();
  }
}

function onTileClick(event) {
  const link = event.target.closest("a");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return; // a new tab gets the photo itself
  event.preventDefault();
  openViewer(links().indexOf(link));
}

export function wireGrid() {
  grid.addEventListener("click", onTileClick);
  groupsBox.addEventListener("click", onTileClick);
  viewer.addEventListener("click", (event) => {
    if (event.target === viewer) closeViewer();
  });
  $("viewer-close").addEventListener("click", closeViewer);
  document.addEventListener("keydown", onKey);
}
