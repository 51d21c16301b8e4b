// What every part of the page uses: an element by its id, the JSON API (a failure as one line to show), and
// the message line above the results.

export const $ = (id) => document.getElementById(id);

export async function getJson(url, options) {
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

export function say(text, isError = false) {
  $("message").textContent = text || "";
  $("message").classList.toggle("error", isError);
}
