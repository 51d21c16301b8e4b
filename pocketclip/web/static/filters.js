// The filter controls: read as the API's filters, set from a view, and their choices (folders, types, places,
// cameras, the dates the photos span) filled from /api/facets.
import { $, getJson } from "./page.js";
import { hasFilters } from "./view.js";

function dateForInput(text, end) {
  // a date input holds a whole day: "2024" after is 2024-01-01, before is 2024-12-31 (the API's bounds are inclusive)
  const found = /^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?/.exec(text || "");
  if (!found) return "";
  const [year, month, day] = [Number(found[1]), found[2] && Number(found[2]), found[3] && Number(found[3])];
  const m = month || (end ? 12 : 1);
  const d = day || (end ? new Date(Date.UTC(year, m, 0)).getUTCDate() : 1);
  return `${found[1]}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

export function currentFilters() {
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

export function setFilterControls(filters) {
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

export async function loadFacets() {
  try {
    fillChoices(await getJson("/api/facets"));
  } catch (error) {
    // the controls still take typed values; the search says what is wrong with one
  }
}

export function listed(input, list) {
  // a typed value that is one of the datalist's choices (or nothing): worth searching at once
  const value = input.value.trim().toLowerCase();
  return !value || Array.from(list.options).some((option) => option.value.toLowerCase() === value);
}
