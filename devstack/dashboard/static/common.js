// Helpers shared by the dashboard's pages (plain browser JavaScript, no libraries).
"use strict";

const SERVICE_COLOURS = {
  "ingestion": "#4e79a7", "package": "#59a14f", "drone-scheduler": "#f28e2b", "delivery": "#b07aa1",
  "remediation": "#e15759", "notifications": "#76b7b2",
};

function serviceColour(name) {
  if (SERVICE_COLOURS[name]) return SERVICE_COLOURS[name];
  let hash = 0;
  for (const ch of String(name)) hash = (hash * 31 + ch.charCodeAt(0)) % 360;
  return `hsl(${hash}, 45%, 55%)`;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key === "style") node.setAttribute("style", value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function ms(value) {
  if (value === null || value === undefined) return "";
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  return `${value.toFixed(value < 10 ? 2 : 0)} ms`;
}

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString();
}

async function getJson(url) {
  const reply = await fetch(url, { cache: "no-store" });
  if (!reply.ok) {
    let detail = "";
    try {
      const body = await reply.json();
      if (body && body.message) detail = `: ${body.message}`;
    } catch (_) {
      // not JSON: the status says enough
    }
    throw new Error(`${url}: HTTP ${reply.status}${detail}`);
  }
  return reply.json();
}

function stateBadge(state) {
  return el("span", { class: `state state-${state}` }, state);
}
