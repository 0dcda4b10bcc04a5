// Timeline page: one trace as a waterfall (a bar per span, indented by depth, offset from the trace's start),
// the hops between steps with the time each message waited, and a span's attributes on click.
"use strict";

const traceId = window.location.pathname.split("/").pop();

function draw(trace) {
  document.title = `${trace.deliveryId || trace.traceId} · devstack`;
  document.getElementById("title").textContent = `delivery ${trace.deliveryId || "(none)"}`;
  document.getElementById("facts").replaceChildren(
    fact("trace", trace.traceId), fact("state", stateBadge(trace.state)), fact("started", clock(trace.start)),
    fact("duration", ms(trace.durationMs)), fact("spans", trace.spanCount), fact("errors", trace.errors));
  document.getElementById("legend").replaceChildren(...trace.services.map(
    (name) => el("span", { class: "chip", style: `background:${serviceColour(name)}` }, name)));
  const total = Math.max(trace.durationMs, 0.001);
  document.getElementById("waterfall").replaceChildren(...trace.spans.map((span) => bar(span, total)));
  const hops = trace.spans.filter((span) => span.hopFrom !== null);
  document.querySelector("#hops tbody").replaceChildren(...hops.map((span) => el("tr", {},
    el("td", {}, span.hopFrom), el("td", {}, span.service), el("td", {}, span.name),
    el("td", { class: "num" }, ms(span.offsetMs)), el("td", { class: "num" }, ms(span.gapMs)))));
  document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

function fact(label, value) {
  return el("div", { class: "fact" }, el("div", { class: "label" }, label), el("div", { class: "value" }, value));
}

function bar(span, total) {
  const left = (span.offsetMs / total) * 100;
  const width = Math.max((span.durationMs / total) * 100, 0.3);
  const gap = span.hopFrom !== null && span.gapMs !== null && span.gapMs > 0
    ? el("div", { class: "gap", title: `waited ${ms(span.gapMs)} after ${span.hopFrom}`,
                  style: `left:${Math.max(left - (span.gapMs / total) * 100, 0)}%;width:${(span.gapMs / total) * 100}%` })
    : null;
  return el("div", { class: `span-row${span.error ? " error" : ""}`, "data-span": span.spanId,
                     onclick: () => detail(span) },
    el("div", { class: "span-label", style: `padding-left:${span.depth * 14}px`, title: span.name },
       el("span", { class: "dot", style: `background:${serviceColour(span.service)}` }),
       `${span.name} `, el("span", { class: "muted" }, span.kind)),
    el("div", { class: "span-track" }, gap,
       el("div", { class: "span-bar", title: `${span.service}: ${ms(span.durationMs)}`,
                   style: `left:${left}%;width:${width}%;background:${serviceColour(span.service)}` }),
       el("span", { class: "span-duration", style: durationPlace(left, width) }, ms(span.durationMs))));
}

function durationPlace(left, width) {
  // After the bar, or before it when the bar ends near the right edge.
  return left + width > 88 ? `right:${100 - left}%;margin-right:0.3rem` : `left:${left + width}%;margin-left:0.3rem`;
}

function detail(span) {
  const text = { name: span.name, service: span.service, kind: span.kind, spanId: span.spanId,
                 parentSpanId: span.parentSpanId, offset: ms(span.offsetMs), duration: ms(span.durationMs),
                 error: span.error, statusMessage: span.statusMessage, attributes: span.attributes };
  const node = document.getElementById("detail");
  node.textContent = JSON.stringify(text, null, 2);
  node.classList.remove("muted");
}

async function loop() {
  try {
    draw(await getJson(`/api/traces/${traceId}`));
  } catch (error) {
    document.getElementById("updated").textContent = error.message;
  }
  setTimeout(loop, 2000);
}

loop();
