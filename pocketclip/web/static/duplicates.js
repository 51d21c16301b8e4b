// The library's duplicates (/?duplicates=1): a row of tiles for each group of exact copies or near-duplicates,
// under the threshold the page's box sets.
import { $, getJson, say } from "./page.js";
import { apiUrl, remember } from "./view.js";
import { tile } from "./tiles.js";
import { closeViewer, groupsBox, showing, state } from "./grid.js";

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

export async function showDuplicates(view, how) {
  if (state.inflight) state.inflight.abort();
  state.current = view;
  remember(view, how);
  closeViewer();
  showing(true);
  state.hits = [];
  state.selected = -1;
  const url = apiUrl(view);
  $("json-link").href = url;
  $("dup-threshold").value = view.threshold || "";
  document.title = "duplicates · pocketclip";
  say("Looking for duplicates …");
  const controller = (state.inflight = new AbortController());
  try {
    const body = await getJson(url, { signal: controller.signal });
    state.hits = body.groups.flatMap((group) => group.photos);
    groupsBox.replaceChildren(...body.groups.map(groupSection));
    const exact = body.groups.filter((group) => group.kind === "exact").length;
    const counted = [[exact, "of exact copies"], [body.groups.length - exact, "of near-duplicates"]]
      .filter(([n]) => n).map(([n, what]) => `${n} ${n === 1 ? "group" : "groups"} ${what}`);
    say(body.groups.length ? `${counted.join(", ")} · ${state.hits.length} photos · ${body.took_ms} ms`
      : `No duplicates · ${body.took_ms} ms`);
  } catch (error) {
    if (error.name === "AbortError") return;
    groupsBox.replaceChildren();
    say(error.message, true);
  }
}

export function wireDuplicates() {
  $("show-duplicates").addEventListener("click", () => showDuplicates({ duplicates: true, threshold: "" }, "push"));
  $("dup-threshold").addEventListener("change", (event) => {
    showDuplicates({ duplicates: true, threshold: event.target.value.trim() }, "push");
  });
}
