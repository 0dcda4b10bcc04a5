// Dead letters page: Remediation's records (read on load and on Refresh, so each row keeps the ETag it was listed
// with and a second Redrive of the same row is refused instead of sending twice), the broker's dead-letter queues
// and Event Grid's dead letters (both polled every 3 s).
"use strict";

async function loadRecords() {
  const operator = document.getElementById("operator-only").checked;
  const found = await getJson(`/api/deadletters${operator ? "?operator=1" : ""}`);
  const off = document.getElementById("records-off");
  const table = document.getElementById("records");
  off.hidden = found.enabled;
  table.hidden = !found.enabled;
  if (!found.enabled) {
    off.textContent = `Dead letters are off: ${found.reason}`;
    document.getElementById("refresh-records").disabled = true;
    return;
  }
  const shown = found.records.length < found.total ? ` (newest ${found.records.length} shown)` : "";
  document.getElementById("records-note").textContent =
    `${found.total} recorded${shown} · listed at ${clock(found.listedAt)}`;
  table.querySelector("tbody").replaceChildren(...found.records.map(recordRow));
}

function recordRow(record) {
  const delivery = record.deliveryId
    ? el("a", { href: `/deliveries/${encodeURIComponent(record.deliveryId)}` }, record.deliveryId) : "";
  const button = el("button", { class: "redrive", title: `resend ${record.messageId || ""} with a new MessageId` },
                    "Redrive");
  button.addEventListener("click", () => redrive(record, button));
  return el("tr", { "data-record": record.id },
    el("td", {}, when(record.recordedAt)), el("td", {}, record.entity),
    el("td", {}, record.reason || record.reasonCode || ""), el("td", { class: "wrap" }, record.description || ""),
    el("td", {}, delivery), el("td", {}, record.requiresOperator ? "yes" : ""),
    el("td", { class: "num redrive-count" }, record.redriveCount), el("td", {}, button));
}

async function redrive(record, button) {
  button.disabled = true;  // one request at a time per row; the row's ETag stays the listed one
  try {
    const reply = await fetch(`/api/deadletters/${encodeURIComponent(record.id)}/redrive`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ etag: record.etag }),
    });
    let body;
    try {
      body = await reply.json();
    } catch (_) {
      body = { error: `HTTP ${reply.status}`, message: "the dashboard's answer is not JSON" };
    }
    if (reply.ok) {
      outcome(true, `${record.id}: redriven to ${body.target.kind} ${body.target.entity} as ${body.messageId}`);
      button.closest("tr").querySelector(".redrive-count").textContent = record.redriveCount + 1;
    } else {
      outcome(false, `${record.id}: not redriven. ${body.error}: ${body.message}`);
    }
  } catch (error) {
    outcome(false, `${record.id}: not redriven. ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

function outcome(ok, text) {
  const box = document.getElementById("redrive-outcome");
  box.hidden = false;
  box.className = `outcome ${ok ? "ok" : "failed"}`;
  box.textContent = text;
}

async function loadBroker() {
  const found = await getJson("/api/deadletters/broker");
  const notes = [];
  const cards = document.getElementById("broker-counts");
  if (found.counts === null) {
    notes.push(found.countsError ? `counts unavailable: ${found.countsError}`
                                 : "no counts: the dashboard was started without --servicebus-admin-url");
    cards.replaceChildren();
  } else {
    const entries = Object.entries(found.counts);
    cards.replaceChildren(...(entries.length ? entries.map(([path, count]) => el("div", { class: "card" },
      el("div", { class: "label" }, path), el("div", { class: "value broker-count" }, count)))
      : [el("span", { class: "muted", id: "broker-empty" }, "every dead-letter queue is empty")]));
  }
  if (found.messagesOff) notes.push(`messages not shown: ${found.messagesOff}`);
  if (found.messagesError) notes.push(`messages unavailable: ${found.messagesError}`);
  document.getElementById("broker-note").textContent = notes.length ? `(${notes.join("; ")})` : "";
  const messages = found.messages || [];
  document.getElementById("broker-messages").hidden = messages.length === 0;
  document.querySelector("#broker-messages tbody").replaceChildren(...messages.map((m) => el("tr", {},
    el("td", {}, m.entity), el("td", {}, m.messageId || ""), el("td", {}, m.subject || ""),
    el("td", {}, m.reason || ""), el("td", { class: "wrap" }, m.description || ""))));
}

async function loadEventGrid() {
  const found = await getJson("/api/eventgrid/deadletters");
  const holder = document.getElementById("eventgrid-subscriptions");
  document.getElementById("eventgrid-note").textContent = found.enabled ? "" : `(not shown: ${found.reason})`;
  if (!found.enabled) {
    holder.replaceChildren();
    return;
  }
  holder.replaceChildren(...found.subscriptions.map((sub) => {
    const title = `${sub.topic} / ${sub.subscription}: `;
    if (sub.error) return el("p", { class: "notice" }, title, `cannot read: ${sub.error}`);
    return el("div", { class: "eventgrid-subscription", "data-subscription": `${sub.topic}/${sub.subscription}` },
      el("h3", {}, title, el("span", { class: "eventgrid-count" }, sub.count), " dead-lettered",
         sub.count > sub.events.length ? el("span", { class: "muted" }, ` (newest ${sub.events.length} shown)`) : null),
      sub.events.length === 0 ? null : el("table", {}, el("thead", {}, el("tr", {}, ...["last attempt", "event id", "type", "subject", "reason",
                                                     "attempts", "last outcome"].map((h) => el("th", {}, h)))),
         el("tbody", {}, ...sub.events.map((e) => el("tr", {},
           el("td", {}, when(e.lastDeliveryAttemptTime)), el("td", {}, e.id), el("td", {}, e.eventType || ""),
           el("td", {}, e.subject || ""), el("td", {}, e.deadLetterReason || ""),
           el("td", { class: "num" }, e.deliveryAttempts ?? ""), el("td", { class: "wrap" },
             `${e.lastDeliveryOutcome || ""}${e.lastHttpStatusCode ? ` (HTTP ${e.lastHttpStatusCode})` : ""}`))))));
  }));
}

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

async function poll() {
  try {
    await Promise.all([loadBroker(), loadEventGrid()]);
    document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    document.getElementById("updated").textContent = `cannot reach the dashboard: ${error.message}`;
  }
  setTimeout(poll, 3000);
}

async function refreshRecords() {
  try {
    await loadRecords();
  } catch (error) {
    document.getElementById("records-note").textContent = `(cannot list: ${error.message})`;
  }
}

document.getElementById("refresh-records").addEventListener("click", refreshRecords);
document.getElementById("operator-only").addEventListener("change", refreshRecords);
refreshRecords();
poll();
