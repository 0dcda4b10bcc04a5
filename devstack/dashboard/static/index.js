// Index page: polls /api/summary once a second and redraws the counts and the deliveries table.
"use strict";

async function refresh() {
  const all = document.getElementById("show-all").checked;
  const summary = await getJson(`/api/summary?limit=100${all ? "&all=1" : ""}`);
  for (const [state, count] of Object.entries(summary.counts)) {
    const cell = document.getElementById(`count-${state}`);
    if (cell) cell.textContent = count;
  }
  document.getElementById("per-minute").textContent = summary.perMinute.toFixed(1);
  document.getElementById("spans-stored").textContent = summary.spansStored;
  document.getElementById("updated").textContent = `updated ${clock(summary.now)}`;
  const body = document.querySelector("#deliveries tbody");
  body.replaceChildren(...summary.deliveries.map(row));
  document.getElementById("empty").hidden = summary.deliveries.length > 0;
}

function row(trace) {
  const link = el("a", { href: `/traces/${trace.traceId}`, class: "delivery-link" },
                  trace.deliveryId || trace.traceId.slice(0, 16));
  const steps = el("span", {}, ...trace.services.map(
    (name) => el("span", { class: "chip", style: `background:${serviceColour(name)}` }, name)));
  return el("tr", { "data-trace": trace.traceId },
    el("td", {}, clock(trace.start)), el("td", {}, link), el("td", {}, stateBadge(trace.state)),
    el("td", {}, trace.root), el("td", {}, steps), el("td", {}, trace.lastService),
    el("td", { class: "num" }, trace.spanCount), el("td", { class: "num" }, ms(trace.durationMs)));
}

async function refreshEmulators() {
  const found = await getJson("/api/emulators");
  const cell = document.getElementById("eventgrid-pending");
  if (!found.eventgrid) cell.textContent = "–";
  else if (found.eventgrid.error) { cell.textContent = "?"; cell.title = found.eventgrid.error; }
  else { cell.textContent = found.eventgrid.pending; cell.title = ""; }
}

async function loop() {
  try {
    await Promise.all([refresh(), refreshEmulators()]);
  } catch (error) {
    document.getElementById("updated").textContent = `cannot reach the dashboard: ${error.message}`;
  }
  setTimeout(loop, 1000);
}

document.getElementById("origin").textContent = window.location.origin;
document.getElementById("show-all").addEventListener("change", refresh);
loop();
