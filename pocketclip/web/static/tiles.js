// A photo as a tile (in the grid, or in a duplicates row) with when and where it was taken under it, and the
// same facts as text for the viewer's caption.

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export function scoreText(score) {
  return score === null || score === undefined ? "" : ` · score ${score.toFixed(4)}`;
}

export function takenText(takenAt) {
  // "2023-06-14T10:30:00", the photo's local time, as "14 Jun 2023, 10:30"
  const found = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(takenAt || "");
  return found ? `${Number(found[3])} ${MONTHS[Number(found[2]) - 1]} ${found[1]}, ${found[4]}:${found[5]}` : "";
}

export function placeText(place) {
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

export function tile(hit, caption) {
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

export function markMissing(img) {
  // the store lists the photo but the server will not serve its file (moved, deleted, outside the root)
  img.closest("a").classList.add("missing");
  img.closest("a").dataset.missing = "photo unavailable, index again";
}
