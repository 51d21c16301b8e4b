// pocketclip serve, in the browser: search as you type with the query and the filters in the URL, a grid
// driven by the keyboard with each photo's date and place under it, a viewer with "more like this", search
// by a dropped photo, the library's duplicates, and "index now" with its progress streamed from the server.
// Plain DOM and native ES modules, no build step; everything it shows comes from the JSON API. This module
// starts the page; each concern has its own: search.js, filters.js, grid.js (and the viewer), tiles.js,
// duplicates.js, index-job.js, view.js (a view and its URLs), page.js (what they all use).
import { hasFilters, viewFromUrl } from "./view.js";
import { markMissing } from "./tiles.js";
import { loadFacets, setFilterControls } from "./filters.js";
import { grid, hitsFromGrid, state, wireGrid } from "./grid.js";
import { wireDuplicates } from "./duplicates.js";
import { show, wireSearch } from "./search.js";
import { showRunningJob, wireIndexJob } from "./index-job.js";

wireSearch();
wireGrid();
wireDuplicates();
wireIndexJob();
state.hits = hitsFromGrid();
for (const img of grid.querySelectorAll("img")) {
  // server-rendered thumbnails may have failed before this script ran
  if (img.complete && img.naturalWidth === 0) markMissing(img);
  else img.addEventListener("error", () => markMissing(img));
}
const initial = viewFromUrl();
setFilterControls(initial.filters);
state.current = initial;
history.replaceState(initial, "", location.href);
loadFacets();
// The server renders a query's hits without their dates and places, and renders no filters: ask the API then.
if (initial.duplicates || hasFilters(initial.filters) || (state.hits.length && !grid.querySelector(".facts"))) {
  show(initial, "none");
}
showRunningJob();
