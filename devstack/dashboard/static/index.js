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
  const grid = found.eventgrid;
  showCount(document.getElementById("eventgrid-pending"), grid, grid && grid.pending);
  showCount(document.getElementById("eventgrid-dead-lettered"), grid, grid && grid.deadLettered);
  drawEntities(found.servicebus);
}

function showCount(cell, source, value) {
  // "–": not configured; "?": the emulator could not be read (the reason is the tooltip).
  if (!source || (value === undefined && !source.error)) { cell.textContent = "–"; cell.title = ""; }
  else if (source.error) { cell.textContent = "?"; cell.title = source.error; }
  else { cell.textContent = value; cell.title = ""; }
}

const ENTITY_COUNTS = ["active", "scheduled", "deadLettered", "locked", "deferred", "sessions", "receivers"];

function drawEntities(servicebus) {
  const note = document.getElementById("entities-note");
  const body = document.querySelector("#entities tbody");
  if (!servicebus) {
    note.textContent = "(not shown: the dashboard was started without --servicebus-admin-url)";
    body.replaceChildren();
    return;
  }
  if (servicebus.error) {
    note.textContent = `(cannot read the broker's admin endpoint: ${servicebus.error})`;
    return;  // keep the last counts on screen
  }
  note.textContent = `(at ${clock(servicebus.takenAt)})`;
  body.replaceChildren(...Object.entries(servicebus.entities).map(([path, counts]) => el("tr",
    { "data-entity": path, class: counts.kind === "topic" ? "topic" : "" },
    el("td", {}, path), el("td", {}, counts.kind),
    ...ENTITY_COUNTS.map((name) => el("td", {
      class: `num count-${name}${name === "deadLettered" && counts[name] > 0 ? " alert" : ""}` }, counts[name])))));
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
