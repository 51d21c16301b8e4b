// "Index now": start an index run on the server and show its progress, streamed (or polled when the stream
// breaks); when it ends, refresh the status line, the filters' choices and the results.
import { $, getJson } from "./page.js";
import { apiUrl, viewFromUrl } from "./view.js";
import { loadFacets } from "./filters.js";
import { show } from "./search.js";

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

export function wireIndexJob() {
  $("index-now").addEventListener("click", startIndex);
}

export function showRunningJob() {
  getJson("/api/index/progress").then((job) => {
    showJob(job);
    if (job.state === "running") follow(); // a reload while indexing keeps showing the progress
  }).catch(() => {});
}
