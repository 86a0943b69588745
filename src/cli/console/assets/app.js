// The happyhorse console: a page per view (overview, jobs, a job, gallery) drawn from the
// console's JSON; the overview follows the ledger live through server-sent events. Text is
// always set as text (never as HTML).
"use strict";

const STATES = ["queued", "submitting", "submitted", "succeeded", "downloaded", "failed", "expired", "uncertain", "skipped"];
const PROVIDERS = ["hiapi", "reapi", "apiframe"];
const view = () => document.getElementById("view");
let lastOverview = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function getJson(url) {
  const answer = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new Error(body.error || `${answer.status} ${answer.statusText}`);
  return body;
}

// Replaces the view's content with `nodes` (nested lists flattened, empty places left out).
function draw(...nodes) {
  view().replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
}
function stateBadge(state) { return el("span", { class: `state ${state}` }, state); }
function when(text) { return text ? new Date(text).toLocaleString() : ""; }
function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const decoded = (part) => { try { return decodeURIComponent(part); } catch { return part; } };
  const parts = path.split("/").filter(Boolean).map(decoded);
  return { parts, params };
}
function setNav(name) {
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.view === name);
}
function failedView(err) { draw(el("p", { class: "error" }, `The console could not read the ledger: ${err.message}`)); }

// Overview ---------------------------------------------------------------------------------

function drawOverview(o) {
  lastOverview = o;
  document.getElementById("ledger").textContent = o.ledger;
  const cards = el("div", { class: "cards", id: "state-cards" },
    el("div", { class: "card" }, el("div", { class: "muted" }, "jobs"), el("div", { class: "n", "data-total": "" }, o.total)),
    o.states.filter((s) => s.jobs > 0 || ["queued", "downloaded", "failed"].includes(s.state)).map((s) =>
      el("div", { class: "card" }, el("a", { href: `#/jobs?state=${s.state}` },
        el("div", { class: "muted" }, s.state), el("div", { class: "n", "data-state-count": s.state }, s.jobs)))));
  const done = o.settled, rate = o.per_minute;
  const pace = el("p", {}, `${done} of ${o.total} settled; `,
    el("span", { "data-rate": "" }, `${rate.toFixed(1)} jobs/min`), " over the last 5 minutes; ",
    o.eta_seconds ? `about ${duration(o.eta_seconds)} left` : (done >= o.total ? "finished" : "no pace yet"));
  // Jobs settling per minute over the run: saved (and, stacked on top, failed or expired).
  const minutes = new Map();
  for (const p of o.progress) {
    if (!["downloaded", "failed", "expired"].includes(p.state)) continue;
    const m = minutes.get(p.at_ms) || { saved: 0, lost: 0 };
    if (p.state === "downloaded") m.saved += p.jobs; else m.lost += p.jobs;
    minutes.set(p.at_ms, m);
  }
  const peak = Math.max(1, ...[...minutes.values()].map((m) => m.saved + m.lost));
  const bars = el("div", { class: "bars", title: "jobs settled per minute" },
    [...minutes.entries()].sort((a, b) => a[0] - b[0]).map(([at, m]) => {
      const column = el("span", { class: "column", title: `${new Date(at).toLocaleTimeString()}: ${m.saved} saved, ${m.lost} failed or expired` },
        el("i", { class: "lost" }), el("i", { class: "saved" }));
      column.style.height = `${Math.round(((m.saved + m.lost) / peak) * 100)}%`;
      column.children[0].style.height = `${Math.round((m.lost / Math.max(1, m.saved + m.lost)) * 100)}%`;
      column.children[1].style.height = `${Math.round((m.saved / Math.max(1, m.saved + m.lost)) * 100)}%`;
      return column;
    }));
  const committed = el("table", {}, el("tr", {}, el("th", {}, "provider"), el("th", {}, "resolution"), el("th", {}, "jobs"), el("th", {}, "video seconds"), el("th", {}, "credits")),
    o.committed.map((r) => el("tr", {}, el("td", {}, r.provider), el("td", {}, r.resolution), el("td", { class: "num" }, r.jobs), el("td", { class: "num" }, r.video_seconds), el("td", { class: "num" }, r.credits ?? "not documented"))));
  const polling = el("p", { id: "polls" }, o.tasks > 0
    ? `${(o.polls / o.tasks).toFixed(1)} polls per job (${o.polls} polls of ${o.tasks} tasks)`
    : "No task yet.");
  const cb = o.callbacks;
  const callbacks = cb.jobs > 0
    ? el("p", {}, `${cb.jobs} jobs submitted with a callback: ${cb.heard} ended by a callback heard, ${cb.reconciled} by a reconciling poll (callback dropped or late).`)
    : el("p", { class: "muted" }, "No job was submitted with a callback (they are polled).");
  const errors = o.errors.length === 0 ? el("p", { class: "muted", id: "errors" }, "No job needs a hand.")
    : el("table", { id: "errors" }, el("tr", {}, el("th", {}, "state"), el("th", {}, "cause"), el("th", {}, "jobs"), el("th", {}, "e.g.")),
      o.errors.map((g) => el("tr", {}, el("td", {}, stateBadge(g.state)), el("td", {}, g.cause), el("td", { class: "num" }, el("a", { href: `#/jobs?state=${g.state}` }, g.jobs)),
        el("td", {}, el("a", { href: `#/job/${encodeURIComponent(g.example)}` }, g.example)))));
  draw(el("h1", {}, "Overview"), cards, pace, el("h2", {}, "Settled per minute: saved, and failed or expired (red)"), bars,
    el("h2", {}, "Committed"), committed, el("h2", {}, "Polls and callbacks"), polling, callbacks, el("h2", {}, "Needs a hand"), errors);
}

async function showOverview() {
  setNav("overview");
  drawOverview(lastOverview || await getJson("/api/overview"));
}

// Jobs -------------------------------------------------------------------------------------

function filterForm(params, target, withState) {
  const select = (name, values, label) => el("select", { name, "aria-label": label },
    el("option", { value: "" }, `any ${label}`), values.map((v) => el("option", { value: v, selected: params.get(name) === v }, v)));
  const form = el("form", { class: "filters", id: "filters", onsubmit: (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (value) next.set(key, value);
    location.hash = `#/${target}?${next}`;
  } },
  withState ? select("state", STATES, "state") : null,
  select("provider", PROVIDERS, "provider"),
  withState ? el("input", { name: "error", placeholder: "error contains", value: params.get("error") || "" }) : null,
  el("input", { name: "q", type: "search", placeholder: "id or prompt", value: params.get("q") || "" }),
  el("button", { type: "submit" }, "Filter"));
  return form;
}

function apiQuery(params, extra) {
  const query = new URLSearchParams();
  for (const key of ["state", "provider", "error", "q", "after"]) if (params.get(key)) query.set(key, params.get(key));
  for (const [k, v] of Object.entries(extra || {})) query.set(k, v);
  return query;
}

function pager(params, page, target) {
  const back = (params.get("back") || "").split(",").filter(Boolean);
  const link = (after, stack) => {
    const next = new URLSearchParams(params);
    if (after) next.set("after", after); else next.delete("after");
    if (stack.length) next.set("back", stack.join(",")); else next.delete("back");
    return `#/${target}?${next}`;
  };
  const previous = back.length ? el("a", { href: link(back[back.length - 1] === "0" ? null : back[back.length - 1], back.slice(0, -1)), id: "previous" }, "← previous") : null;
  const next = page.next ? el("a", { href: link(page.next, [...back, params.get("after") || "0"]), id: "next" }, "next →") : null;
  return el("div", { class: "pager" }, previous, el("span", { class: "muted", id: "matching" }, `${page.matching} matching`), next);
}

async function showJobs(params) {
  setNav("jobs");
  const page = await getJson(`/api/jobs?${apiQuery(params, { limit: 50 })}`);
  const table = el("table", { id: "jobs", "data-for": location.hash },
    el("tr", {}, el("th", {}, "id"), el("th", {}, "line"), el("th", {}, "provider"), el("th", {}, "state"), el("th", {}, "prompt"), el("th", {}, "tries"), el("th", {}, "error"), el("th", {}, "updated")),
    page.jobs.map((j) => el("tr", { "data-job-id": j.id, "data-state": j.state, "data-provider": j.provider },
      el("td", {}, el("a", { href: `#/job/${encodeURIComponent(j.id)}` }, j.id)), el("td", { class: "num" }, j.line ?? ""),
      el("td", {}, j.provider), el("td", {}, stateBadge(j.state)), el("td", {}, j.prompt ?? ""),
      el("td", { class: "num" }, j.attempts), el("td", { class: "error" }, j.error ?? ""), el("td", { class: "muted" }, when(j.updated_at)))));
  draw(el("h1", {}, "Jobs"), filterForm(params, "jobs", true), table, pager(params, page, "jobs"));
}

// A job ------------------------------------------------------------------------------------

async function showJob(id) {
  setNav("jobs");
  const j = await getJson(`/api/jobs/${encodeURIComponent(id)}`);
  const facts = el("table", {}, [
    ["state", stateBadge(j.state)], ["provider", j.provider], ["line", j.line ?? ""], ["task", j.task_id ?? "none yet"],
    ["submits", j.attempts], ["polls", j.polls], ["callback deliveries", j.deliveries], ["task took", j.task_seconds ? `${j.task_seconds.toFixed(1)} s` : "–"],
    ["saved", j.sha256 ? `${j.bytes} bytes, sha256 ${j.sha256}` : "–"],
  ].map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))));
  const advice = j.error ? [el("h2", {}, "What went wrong"), el("p", { class: "error", id: "job-error" }, j.error),
    j.next ? el("p", {}, j.next) : null, j.command ? el("code", { class: "cmd", id: "command" }, j.command) : null] : [];
  const timeline = el("ol", { class: "timeline", id: "timeline" }, j.events.map((e) => el("li", { "data-event": e.event, "data-seq": e.seq },
    el("strong", {}, e.event), " ", el("span", { class: "muted" }, `${when(e.at)}${e.worker ? ` · ${e.worker}` : " · receiver"}`),
    e.from && e.from !== e.to ? ` ${e.from} → ${e.to}` : "", e.status ? ` · status ${e.status}` : "", e.http_status ? ` · HTTP ${e.http_status}` : "",
    e.deliveries ? ` · ${e.deliveries} deliveries` : "", e.error ? el("div", { class: "error" }, e.error) : null)));
  const video = j.video ? el("video", { src: j.video, controls: true, preload: "metadata", id: "job-video" }) : null;
  draw(el("h1", {}, `Job ${j.id}`), j.prompt ? el("p", {}, j.prompt) : null, video, facts, ...advice,
    el("h2", {}, "Timeline"), timeline, el("h2", {}, "Request (wire body; URLs without their queries)"), el("pre", { id: "request" }, JSON.stringify(j.request, null, 2)));
}

// Gallery ----------------------------------------------------------------------------------

async function showGallery(params) {
  setNav("gallery");
  const page = await getJson(`/api/jobs?${apiQuery(params, { saved: "true", limit: 24 })}`);
  const grid = el("div", { class: "gallery", id: "gallery", "data-for": location.hash }, page.jobs.map((j) => el("figure", { "data-job-id": j.id },
    el("video", { src: j.video, controls: true, preload: "metadata", muted: true, playsinline: true }),
    el("figcaption", {}, el("a", { href: `#/job/${encodeURIComponent(j.id)}` }, j.id), " · ", j.provider, " · ",
      `${j.parameters.resolution}, ${j.parameters.video_seconds} s`, el("div", {}, j.prompt ?? "")))));
  draw(el("h1", {}, "Gallery"), filterForm(params, "gallery", false),
    page.jobs.length ? grid : el("p", { class: "muted" }, "No video saved yet."), pager(params, page, "gallery"));
}

// Routing and the live stream ---------------------------------------------------------------

async function show() {
  const { parts, params } = route();
  try {
    if (parts[0] === "jobs") await showJobs(params);
    else if (parts[0] === "job" && parts[1]) await showJob(parts[1]);
    else if (parts[0] === "gallery") await showGallery(params);
    else await showOverview();
  } catch (err) { failedView(err); }
}

function follow() {
  const live = document.getElementById("live");
  const source = new EventSource("/api/stream");
  source.addEventListener("open", () => live.classList.add("on"));
  source.addEventListener("error", () => live.classList.remove("on"));
  source.addEventListener("overview", (event) => {
    const overview = JSON.parse(event.data);
    lastOverview = overview;
    document.body.dataset.eventSeq = overview.event_seq;
    if (route().parts.length === 0) drawOverview(overview);
  });
}

window.addEventListener("hashchange", show);
document.addEventListener("DOMContentLoaded", () => { show(); follow(); });
