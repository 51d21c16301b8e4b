// A view is what the page shows: a text query or "more like" a photo under the filters, or the duplicates.
// The URL holds it: read from the address, written to the history, and turned into the API's URL for its data.

const FILTERS = ["after", "before", "folder", "place", "near", "within_km", "camera", "type"]; // the API's names
const NEW_ENTRY_AFTER_MS = 1500; // typing that settles within this time updates the same history entry

let lastTypedAt = 0;

export function viewFromUrl() {
  const params = new URLSearchParams(location.search);
  const filters = Object.fromEntries(FILTERS.map((name) => [name, (params.get(name) || "").trim()]));
  return {
    q: params.get("q") || "", like: params.get("like") || "", filters,
    duplicates: params.has("duplicates"), threshold: params.get("threshold") || "",
  };
}

export function filterParams(filters) {
  // blanks are not limits: only the filters given travel
  const params = new URLSearchParams();
  for (const name of FILTERS) if (filters && filters[name]) params.set(name, filters[name]);
  return params;
}

export function hasFilters(filters) {
  return FILTERS.some((name) => filters && filters[name]);
}

export function withParams(path, params) {
  const query = params.toString();
  return query ? path + "?" + query : path;
}

export function pageUrl(view) {
  if (view.duplicates) {
    return withParams("/", new URLSearchParams(view.threshold ? { duplicates: 1, threshold: view.threshold }
      : { duplicates: 1 }));
  }
  const params = new URLSearchParams(view.like ? { like: view.like } : view.q ? { q: view.q } : {});
  for (const [name, value] of filterParams(view.filters)) params.set(name, value);
  return withParams("/", params);
}

export function apiUrl(view) {
  if (view.duplicates) {
    return withParams("/api/duplicates", new URLSearchParams(view.threshold ? { threshold: view.threshold } : {}));
  }
  const filters = filterParams(view.filters);
  if (view.like) return withParams("/api/similar/" + encodeURIComponent(view.like), filters);
  if (!view.q.trim() && !hasFilters(view.filters)) return null;
  return "/api/search?" + new URLSearchParams([["q", view.q], ...filters]); // no query: the newest photos they select
}

export function remember(view, how) {
  const url = pageUrl(view);
  if (how === "none" || url === location.pathname + location.search) return;
  const now = Date.now();
  const sameBurst = how === "type" && now - lastTypedAt < NEW_ENTRY_AFTER_MS;
  lastTypedAt = how === "type" ? now : 0;
  if (sameBurst) history.replaceState(view, "", url);
  else history.pushState(view, "", url);
}
