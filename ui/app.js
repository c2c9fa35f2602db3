// The Rockpool UI: sign-in, then pages fed by list+watch streams (watch.js),
// so what the controller or rpctl changes shows without a reload. Hash routes
// (#/workspaces, ...) keep every URL under the page's own prefix.
import { getJSON, group, request, signIn, signedIn, stream } from "./api.js";
import { Collection } from "./watch.js";
import { diffLines, editable, toYaml } from "./yaml.js";

const main = document.getElementById("main");
const conn = document.getElementById("conn");
const inner = document.documentElement.dataset.role === "inner";

// h("tag.class", {attrs}, ...children): text children are text nodes, never HTML.
function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag);
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else if (v !== false && v != null) el.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c != null) el.append(c instanceof Node ? c : String(c));
  return el;
}

// Names are DNS labels: a plain comparison (localeCompare builds a collator
// per call, and a sort of 1,000 rows took half a second with it).
const byName = (a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0);
const cond = (obj, type) => (obj.status?.conditions || []).find((c) => c.type === type);
const readyOf = (obj) => cond(obj, "Ready")?.status || "Unknown";
function age(ts) {
  if (!ts) return "";
  const s = Math.max(0, (Date.now() - Date.parse(ts)) / 1000);
  return s < 120 ? `${Math.floor(s)}s` : s < 7200 ? `${Math.floor(s / 60)}m` : s < 172800
    ? `${Math.floor(s / 3600)}h` : `${Math.floor(s / 86400)}d`;
}

// Where a workspace's IDE is: in an inner UI reached at
// /workspace/NH/port/8080/app/, the nested host's port 8081 on this same
// origin; otherwise the workspace server rockpoold names (its Caddy's
// --caddy-workspace-listen), on this page's host name.
function ideUrl(name) {
  const m = location.pathname.match(/^(.*\/workspace\/[^/]+\/port\/)8080\/app\//);
  if (m) return `${m[1]}8081/workspace/${encodeURIComponent(name)}/`;
  const named = document.documentElement.dataset.workspaceUrl;
  const at = named && !named.startsWith("{{") ? new URL(named) : null;
  const port = at ? at.port : location.port === "8080" ? "8081" : location.port;
  return `${location.protocol}//${location.hostname}${port ? ":" + port : ""}/workspace/${encodeURIComponent(name)}/`;
}

// Opens a workspace path (the IDE, or "port/P/") signed in: the API makes a
// single-use link for the workspace server (docs/security.md), which sets
// that origin's session cookie and redirects. The tab opens on the click, so
// no popup blocker stands between; the link fills it once it is made.
async function openWorkspace(name, path = "") {
  const tab = window.open("", "_blank");
  if (tab) tab.opener = null;
  try {
    const q = path ? `?path=${encodeURIComponent(path)}` : "";
    const r = await request("POST", `${group}/workspaces/${encodeURIComponent(name)}/signin${q}`, "{}");
    const to = `/workspace/${encodeURIComponent(name)}/${path}`;
    const origin = ideUrl(name).replace(/\/workspace\/[^/]+\/$/, "");
    const url = r.code ? `${origin}/.rockpool/signin?code=${r.code}&to=${encodeURIComponent(to)}` : origin + to;
    if (tab) tab.location.href = url; else location.href = url;
  } catch (x) {
    if (tab) tab.close();
    alert(`Cannot open ${name}: ${x.message}`);
  }
}

// Live collections, one per kind shown, shared by the pages.
const live = {};
const listeners = new Set();
function collection(plural) {
  if (!live[plural]) {
    const ac = new AbortController();
    const c = new Collection({
      path: `${group}/${plural}`, fetchJSON: getJSON, stream,
      onChange: () => listeners.forEach((f) => f(plural)),
      onState: (s) => {
        conn.textContent = s === "live" ? "live" : s === "unauthorized" ? "signed out" : "reconnecting…";
        if (s === "unauthorized") showSignIn("The token was refused; sign in again.");
      },
    });
    live[plural] = c;
    c.run(ac.signal);
  }
  return live[plural];
}

function page(title, ...content) {
  main.replaceChildren(h("h1", {}, title), ...content);
}

function showSignIn(message) {
  document.getElementById("nav").hidden = true;
  const err = h("p.error", { role: "alert" }, message || "");
  const input = h("input", { type: "password", id: "token", autocomplete: "off", required: true });
  const form = h("form.card", {
    onsubmit: async (e) => {
      e.preventDefault();
      signIn(input.value.trim());
      try {
        await getJSON("version");
        document.getElementById("nav").hidden = false;
        route();
      } catch (x) {
        signIn("");
        err.textContent = x.status === 401 ? "That token is not valid." : `Cannot reach the API: ${x.message}`;
      }
    },
  }, h("label", { for: "token" }, "API token"), input,
     h("p.muted", {}, "Kept in this tab's memory only; reloading the page asks again."),
     h("button.primary", { type: "submit" }, "Sign in"), err);
  page(inner ? "Sign in to the inner Rockpool" : "Sign in", form);
  input.focus();
}

// A row redrawn while a keyboard user is on one of its controls: the focus
// moves to the same control of the new row instead of falling to the page.
function keepFocus(oldRow, newRow) {
  const focused = document.activeElement;
  if (!focused || !oldRow.contains(focused)) return;
  const controls = (r) => [...r.querySelectorAll("a, button, input, select")];
  const i = controls(oldRow).indexOf(focused);
  queueMicrotask(() => controls(newRow)[i]?.focus());
}

// A table kept in step with a collection. row(item) -> tr is called only for
// items whose resourceVersion changed since it was last drawn; other rows are
// kept as they are, so a status update redraws one row, not the table. Past
// `windowed` rows only those near the viewport are in the document (spacer
// rows stand for the rest), so the browser lays out a screenful, not 1,000.
const windowed = 200;
function liveTable(plural, head, row) {
  const tbody = h("tbody");
  const count = h("p.muted.count", { "aria-live": "polite" });
  const table = h("div.scroll", {}, h("table", {}, h("thead", {}, h("tr", {}, head.map(
    (x) => h(x.wide ? "th.wide" : "th", { scope: "col" }, x.label || x)))), tbody), count);
  const spacer = () => h("tr.spacer", { "aria-hidden": "true" }, h("td", { colspan: head.length }));
  const above = spacer(), below = spacer();
  let cache = new Map();  // name -> {rv, tr}
  let rowHeight = 36;
  const render = () => {
    const items = [...collection(plural).items.values()].sort(byName);
    count.textContent = `${items.length} ${plural}`;
    let first = 0, last = items.length;
    if (items.length > windowed) {
      const top = tbody.getBoundingClientRect().top;
      first = Math.max(0, Math.floor(-top / rowHeight) - 20);
      last = Math.min(items.length, first + Math.ceil(innerHeight / rowHeight) + 40);
    }
    const next = new Map();
    const trs = [];
    items.forEach((o, i) => {
      const name = o.metadata.name, rv = o.metadata.resourceVersion;
      const was = cache.get(name);
      if (i < first || i >= last) { if (was && was.rv === rv) next.set(name, was); return; }
      const x = was && was.rv === rv ? was : { rv, tr: row(o) };
      if (was && x !== was) keepFocus(was.tr, x.tr);
      next.set(name, x);
      trs.push(x.tr);
    });
    cache = next;
    if (!items.length) trs.push(h("tr", {}, h("td.muted", { colspan: head.length }, "None yet.")));
    above.firstChild.style.height = `${first * rowHeight}px`;
    below.firstChild.style.height = `${(items.length - last) * rowHeight}px`;
    const want = [above, ...trs, below];
    // Only what changed is touched: rows that went are removed first, then
    // new and redrawn rows are put in their place; the others stay.
    const keep = new Set(want);
    for (const child of [...tbody.children]) if (!keep.has(child)) child.remove();
    let at = tbody.firstChild;
    for (const tr of want) {
      if (at === tr) { at = at.nextSibling; continue; }
      tbody.insertBefore(tr, at);
    }
    if (trs.length > 1) rowHeight = Math.max(20, trs[1].getBoundingClientRect().top - trs[0].getBoundingClientRect().top);
  };
  return { table, render };
}

async function act(what, fn) {
  try { await fn(); } catch (e) { alert(`${what} failed: ${e.message}`); }
}

function confirmDelete(kind, plural, name) {
  const what = { WorkspaceSnapshot: "Its Incus snapshots are removed." }[kind]
    || "Its instance and routes are removed.";
  const dialog = h("dialog", { "aria-label": `Delete ${kind} ${name}` },
    h("p", {}, `Delete ${kind.toLowerCase()} "${name}"? ${what}`),
    h("div.actions", {},
      h("button.danger", { onclick: () => { dialog.close(); act("Delete",
        () => request("DELETE", `${group}/${plural}/${encodeURIComponent(name)}`)); } }, "Delete"),
      h("button", { onclick: () => dialog.close() }, "Cancel")));
  document.body.append(dialog);
  dialog.addEventListener("close", () => dialog.remove());
  dialog.showModal();
}

function setState(name, state) {
  return act(state === "Stopped" ? "Stop" : "Start", () => request("PATCH",
    `${group}/workspaces/${encodeURIComponent(name)}`, { spec: { state } }, "application/merge-patch+json"));
}

function workspacesPage() {
  const { table, render } = liveTable("workspaces",
    ["Name", "Phase", "Ready", "IDE", { label: "Image", wide: true }, { label: "Type", wide: true },
     { label: "Network", wide: true }, { label: "Home", wide: true }, { label: "Age", wide: true },
     { label: "Restarts", wide: true }, "Actions"],
    (w) => {
      const n = w.metadata.name;
      const stopped = (w.spec.state || "Running") === "Stopped";
      return h("tr", { "data-name": n },
        h("td", {}, h("a", { href: `#/workspaces/${encodeURIComponent(n)}` }, n)),
        h("td.phase", {}, w.status?.phase || "Pending"),
        h(`td.ready.${readyOf(w)}`, {}, readyOf(w)),
        h(`td.ide.${cond(w, "IDEReady")?.status || "Unknown"}`, { title: cond(w, "IDEReady")?.message || "" },
          cond(w, "IDEReady")?.reason === "CodeServerAnswers" ? "VS Code"
            : cond(w, "IDEReady")?.status === "True" ? "answers" : cond(w, "IDEReady") ? "waiting" : "—"),
        h("td.wide", {}, w.spec.image || w.spec.template || ""),
        h("td.wide", {}, w.spec.type || "container"),
        h("td.wide", {}, [w.status?.network, w.status?.address].filter(Boolean).join(" ")),
        h("td.wide.home", { title: w.status?.home?.retain ? "kept when the workspace is deleted" : "" },
          w.status?.home?.volume ? w.status.home.volume + (w.status.home.retain ? " (retained)" : "") : "—"),
        h("td.wide", {}, age(w.metadata.creationTimestamp)),
        h("td.wide.restarts", {}, w.status?.restarts ?? 0),
        h("td", {}, h("div.actions", {},
          h("button.open", { onclick: () => openWorkspace(n) }, "Open IDE"),
          h("button", { onclick: () => setState(n, stopped ? "Running" : "Stopped") },
            stopped ? "Start" : "Stop"),
          h("button.danger", { onclick: () => confirmDelete("Workspace", "workspaces", n) }, "Delete"))));
    });
  const create = createForm();
  page("Workspaces", h("p", {}, create.open), table, create.templateLinks, create.dialog);
  // Options are rebuilt only when templates change, not under a user's hand
  // at every status update.
  return (plural) => {
    if (!plural || plural === "workspacetemplates") create.refresh();
    if (plural !== "workspacetemplates") render();  // including "scroll"
  };
}

// Create a workspace: a form generated from the Workspace schema in the
// server's OpenAPI document (the CRD): one field per spec property, nested
// objects as groups, enums as choices, defaults and descriptions shown.
// Maps and lists (profiles, environment) are left to the YAML editor. The
// server's located errors are shown at their field.
let workspaceSchema = null;
async function loadWorkspaceSchema() {
  if (!workspaceSchema) {
    const doc = await getJSON("openapi/v3/apis/rockpool.dev/v1alpha1");
    workspaceSchema = doc.components.schemas["dev.rockpool.v1alpha1.Workspace"].properties.spec;
  }
  return workspaceSchema;
}

function schemaFields(schema, path, inputs, errors) {
  const out = [];
  for (const [key, prop] of Object.entries(schema.properties || {})) {
    const p = `${path}.${key}`;
    const id = p.replaceAll(".", "-");
    const hint = [prop.description, prop.default !== undefined ? `Default: ${JSON.stringify(prop.default)}.` : ""]
      .filter(Boolean).join(" ");
    if (prop.type === "object" && prop.properties) {
      out.push(h("fieldset", { "data-key": key }, h("legend", {}, key), schemaFields(prop, p, inputs, errors)));
      continue;
    }
    let input;
    if (key === "template" && path === "spec") {
      input = h("select", { id: "new-template" }, h("option", { value: "" }, "(none)"));
    } else if (prop.enum) {
      input = h("select", { id }, h("option", { value: "" }, prop.default !== undefined ? `(default: ${prop.default})` : "(unset)"),
        prop.enum.map((v) => h("option", { value: v }, v)));
    } else if (prop.type === "boolean") {
      input = h("select", { id }, h("option", { value: "" }, "(unset)"), h("option", { value: "true" }, "true"),
        h("option", { value: "false" }, "false"));
    } else if (prop.type === "string" || prop.type === "integer") {
      input = h("input", { type: "text", id, inputmode: prop.type === "integer" ? "numeric" : null,
                           placeholder: prop.default !== undefined ? String(prop.default) : "" });
    } else {
      continue;  // maps and lists: the YAML editor
    }
    inputs[p] = { input, prop };
    errors[p] = h("div.field-error", { id: `err-${p}`, role: "alert" });
    out.push(h("div.field", { "data-key": key }, h("label", { for: input.id }, key), input,
               h("div.muted.hint", {}, hint), errors[p]));
  }
  return out;
}

function createForm() {
  const name = h("input", { type: "text", id: "new-name", required: true, autocomplete: "off" });
  const inputs = {};
  const errors = { "metadata.name": h("div.field-error", { id: "err-name", role: "alert" }) };
  const general = h("p.error", { role: "alert" });
  // Name, template and image up front; every other field under "More".
  const fields = h("div", {}, h("p.muted", {}, "Loading the schema…"));
  const more = h("div");
  // The templates: the choice in the form, and each one's YAML.
  const templateLinks = h("p.muted.templates");
  const refresh = () => {
    const names = [...collection("workspacetemplates").items.keys()].sort();
    templateLinks.replaceChildren(...(names.length ? ["Templates: ", ...names.flatMap((n, i) =>
      [i ? ", " : "", h("a", { href: `#/yaml/workspacetemplates/${encodeURIComponent(n)}` }, n)])] : []));
    const select = inputs["spec.template"]?.input;
    if (!select) return;
    const chosen = select.value;
    select.replaceChildren(h("option", { value: "" }, "(none)"),
      ...names.map((n) => h("option", { value: n, selected: n === chosen }, n)));
  };
  loadWorkspaceSchema().then((schema) => {
    const all = schemaFields(schema, "spec", inputs, errors);
    const upFront = ["template", "image"];
    fields.replaceChildren(...upFront.map((k) => all.find((n) => n.dataset.key === k)).filter(Boolean));
    more.replaceChildren(...all.filter((n) => !upFront.includes(n.dataset.key)));
    refresh();
  }, (x) => fields.replaceChildren(h("p.error", {}, `Cannot load the schema: ${x.message}`)));
  const form = h("form.card", {
    "aria-label": "Create a workspace",
    onsubmit: async (e) => {
      e.preventDefault();
      Object.values(errors).forEach((x) => (x.textContent = ""));
      general.textContent = "";
      const spec = {};
      for (const [p, { input, prop }] of Object.entries(inputs)) {
        const v = input.value.trim();
        if (v === "") continue;
        const keys = p.split(".").slice(1);
        let at = spec;
        for (const k of keys.slice(0, -1)) at = at[k] ??= {};
        at[keys.at(-1)] = prop.type === "integer" && /^-?\d+$/.test(v) ? Number(v)
          : prop.type === "boolean" ? v === "true" : v;
      }
      try {
        await request("POST", `${group}/workspaces`, { apiVersion: "rockpool.dev/v1alpha1", kind: "Workspace",
          metadata: { name: name.value.trim() }, spec });
        form.reset();
        dialog.close();
      } catch (x) {
        const causes = x.details?.causes || [];
        for (const c of causes) (errors[c.field] || general).append(h("div", {}, `${c.field}: ${c.message}`));
        if (!causes.length) general.textContent = x.message;
      }
    },
  }, h("h2", {}, "New workspace"),
     h("label", { for: "new-name" }, "Name"), name, errors["metadata.name"], fields,
     h("details", {}, h("summary", {}, "More"), more),
     h("p", {}, h("button.primary", { type: "submit" }, "Create"), " ",
       h("button", { type: "button", onclick: () => dialog.close() }, "Cancel")), general);
  const dialog = h("dialog.create", { "aria-label": "New workspace" }, form);
  const open = h("button.primary.new", { onclick: () => { dialog.showModal(); name.focus(); } }, "New workspace");
  return { form, dialog, open, templateLinks, refresh };
}

function conditionsTable(obj) {
  return h("div.scroll", {}, h("table", { "aria-label": "Conditions" },
    h("thead", {}, h("tr", {}, ["Condition", "Status", "Reason", "Message"].map((x) => h("th", {}, x)))),
    h("tbody", {}, (obj.status?.conditions || []).map((c) =>
      h("tr", {}, h("td", {}, c.type), h(`td.${c.status}`, {}, c.status), h("td", {}, c.reason || ""),
        h("td", {}, c.message || ""))))));
}

function workspacePage(name) {
  // The forms and the editor are made once and never moved: moving a node
  // would take the focus (and the keys being typed) away from it.
  const routeForm = portRouteForm(name);
  const yaml = yamlEditor("workspaces", name);
  const summary = h("p"), lifecycle = h("p.muted"), conditions = h("div"), routes = h("div"),
    events = h("div"), snapshots = h("div");
  const missing = h("p.muted", { hidden: true }, "Not found (deleted?).");
  page(`Workspace ${name}`, missing, summary, lifecycle, h("h2", {}, "Conditions"), conditions,
       h("h2", {}, "Port routes"), routes, routeForm, h("h2", {}, "Snapshots"), snapshots,
       takeSnapshotButton(name), h("h2", {}, "Events"), events, h("h2", {}, "YAML"), yaml.panel);
  return (plural) => {
    if (plural === "scroll") return;
    const w = collection("workspaces").items.get(name);
    missing.hidden = !!w;
    if (!w) return;
    const evs = [...collection("events").items.values()]
      .filter((e) => e.spec?.involvedObject?.name === name && e.spec?.involvedObject?.kind === "Workspace")
      .sort((a, b) => ((a.spec.lastTimestamp || "") < (b.spec.lastTimestamp || "") ? -1 : 1));
    summary.replaceChildren(`${w.status?.phase || "Pending"} — `, cond(w, "Ready")?.message || "");
    lifecycle.replaceChildren(lifecycleLine(w));
    conditions.replaceChildren(conditionsTable(w));
    routes.replaceChildren(portRoutes(name));
    snapshots.replaceChildren(snapshotsTable(w));
    events.replaceChildren(eventsTable(evs));
    yaml.show(w);
  };
}

// An object as YAML; Edit, then Review shows what a server-side apply (the
// same as rpctl's: field manager "rpctl") would change, from a dry run;
// Apply writes it. The server's errors are shown as they come.
function yamlEditor(plural, name) {
  const path = `${group}/${plural}/${encodeURIComponent(name)}`;
  const view = h("pre.card", { "aria-label": "Object as YAML", tabindex: 0 });
  const text = h("textarea", { id: "yaml-text", rows: 16, cols: 80, spellcheck: "false",
                               "aria-label": "YAML to apply", hidden: true });
  const out = h("div", { role: "status" });
  let editing = false;
  const apply = (dry) => request("PATCH", `${path}?fieldManager=rpctl${dry ? "&dryRun=All" : ""}`, text.value,
    "application/apply-patch+yaml");
  const edit = h("button", { onclick: () => { editing = true; text.value = toYaml(editable(current)); text.hidden = false;
                                                review.hidden = false; text.focus(); } }, "Edit");
  const review = h("button", { hidden: true, onclick: async () => {
    out.replaceChildren();
    try {
      const after = await apply(true);
      const d = diffLines(toYaml(editable(current)), toYaml(editable(after)));
      const changed = d.some((x) => x.op !== " ");
      out.replaceChildren(h("pre.card.diff", { "aria-label": "Changes" },
        changed ? d.filter((x) => x.op !== " ").map((x) => `${x.op} ${x.line}\n`) : "No changes."),
        changed ? h("button.primary", { onclick: async () => {
          try { await apply(false); editing = false; text.hidden = true; review.hidden = true;
                out.replaceChildren(h("p", {}, "Applied.")); }
          catch (x) { out.replaceChildren(h("p.error", { role: "alert" }, x.message)); }
        } }, "Apply") : null);
    } catch (x) { out.replaceChildren(h("p.error", { role: "alert" }, x.message)); }
  } }, "Review changes");
  let current = null;
  return {
    panel: h("div", {}, view, h("div.actions", {}, edit, review), text, out),
    show(obj) { current = obj; if (!editing) view.textContent = toYaml(obj); },
  };
}

// The PortRoutes of one workspace, live, with a form to add one.
function portRouteForm(ws) {
  const port = h("input", { type: "text", id: "new-port", inputmode: "numeric", size: 6 });
  const err = h("div.field-error", { id: "err-port", role: "alert" });
  return h("form", {
    "aria-label": "Add a port route",
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = "";
      const p = Number(port.value);
      try {
        await request("POST", `${group}/portroutes`, { apiVersion: "rockpool.dev/v1alpha1", kind: "PortRoute",
          metadata: { name: `${ws}-${port.value.trim()}` }, spec: { workspace: ws, port: Number.isInteger(p) ? p : port.value } });
        port.value = "";
      } catch (x) {
        err.textContent = (x.details?.causes || []).map((c) => `${c.field}: ${c.message}`).join("; ") || x.message;
      }
    },
  }, h("label", { for: "new-port" }, "Port"), port, " ", h("button", { type: "submit" }, "Add route"), err);
}

function portRoutes(ws) {
  const routes = [...collection("portroutes").items.values()].filter((r) => r.spec?.workspace === ws)
    .sort((a, b) => a.spec.port - b.spec.port);
  return h("div", {}, h("div.scroll", {}, h("table", { "aria-label": "Port routes" },
    h("thead", {}, h("tr", {}, ["Port", "Ready", "Link", ""].map((x) => h("th", {}, x)))),
    h("tbody", {}, routes.length ? routes.map((r) => h("tr", { "data-name": r.metadata.name },
      h("td", {}, r.spec.port), h(`td.ready.${readyOf(r)}`, {}, readyOf(r)),
      h("td", {}, r.spec.public
        ? [h("a", { href: `${ideUrl(ws)}port/${r.spec.port}/`, target: "_blank", rel: "noopener" },
             `/workspace/${ws}/port/${r.spec.port}/`), " ", h("span.badge.public", { title: "served without sign-in" }, "public")]
        : h("a", { href: `${ideUrl(ws)}port/${r.spec.port}/`,
                   onclick: (e) => { e.preventDefault(); openWorkspace(ws, `port/${r.spec.port}/`); } },
            `/workspace/${ws}/port/${r.spec.port}/`)),
      h("td", {}, h("div.actions", {}, h("a", { href: `#/yaml/portroutes/${encodeURIComponent(r.metadata.name)}` }, "YAML"),
        h("button.danger", { onclick: () => confirmDelete("PortRoute", "portroutes", r.metadata.name) },
          "Remove")))))
      : h("tr", {}, h("td.muted", { colspan: 4 }, "No port routes."))))));
}

// Sleep, schedules and restore, in one line: idleAfter, the last activity,
// since when it sleeps, the next scheduled start, stop and snapshot, and the
// last restore's result.
function lifecycleLine(w) {
  const st = w.status || {}, parts = [];
  const idle = w.spec?.lifecycle?.idleAfter;
  parts.push(idle && idle !== "0" ? `Sleeps after ${idle} idle`
    : !idle && w.spec?.template ? `Sleeps as template ${w.spec.template} says` : "Never sleeps by itself");
  if (st.lastActivityTime) parts.push(`last activity ${st.lastActivityTime}`);
  if (st.sleepingSince) parts.push(`sleeping since ${st.sleepingSince}${st.sleepReason === "Schedule" ? " (schedule)" : ""}`);
  if (st.schedule?.nextStart) parts.push(`next start ${st.schedule.nextStart}`);
  if (st.schedule?.nextStop) parts.push(`next stop ${st.schedule.nextStop}`);
  if (st.snapshots?.next) parts.push(`next snapshot ${st.snapshots.next}`);
  if (st.restored) parts.push(`last restore: ${st.restored.snapshot} — ${st.restored.result} (${st.restored.message || ""})`);
  return parts.join("; ") + ".";
}

function takeSnapshotButton(ws) {
  return h("button", { onclick: () => act("Snapshot", () => {
    const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
    return request("POST", `${group}/workspacesnapshots`, { apiVersion: "rockpool.dev/v1alpha1",
      kind: "WorkspaceSnapshot", metadata: { name: `${ws}-${stamp}`.toLowerCase() }, spec: { workspace: ws } });
  }) }, "Take snapshot");
}

// Restoring sets the workspace's spec.restore with a new id, as rpctl restore does.
function restoreSnapshot(ws, snap) {
  const dialog = h("dialog", { "aria-label": `Restore ${ws} from ${snap}` },
    h("p", {}, `Restore workspace "${ws}" to snapshot "${snap}"? It is stopped, its disk and home are put back as they were, and it starts again. What changed since is lost.`),
    h("div.actions", {},
      h("button.danger", { onclick: () => { dialog.close(); act("Restore",
        () => request("PATCH", `${group}/workspaces/${encodeURIComponent(ws)}`,
          { spec: { restore: { snapshot: snap, id: new Date().toISOString() } } },
          "application/merge-patch+json")); } }, "Restore"),
      h("button", { onclick: () => dialog.close() }, "Cancel")));
  document.body.append(dialog);
  dialog.addEventListener("close", () => dialog.remove());
  dialog.showModal();
}

// A new workspace from a snapshot: the source workspace's spec (its image,
// template, resources), its own name and home, spec.source.snapshot set.
function cloneSnapshot(w, snap) {
  const name = h("input", { type: "text", id: "clone-name", value: `${w.metadata.name}-copy` });
  const err = h("p.error", { role: "alert" });
  const dialog = h("dialog", { "aria-label": `Clone ${snap}` },
    h("form", { onsubmit: async (e) => {
      e.preventDefault();
      const spec = JSON.parse(JSON.stringify(w.spec || {}));
      delete spec.restore;
      if (spec.home) delete spec.home.fromVolume;
      spec.source = { snapshot: snap };
      try {
        await request("POST", `${group}/workspaces`, { apiVersion: "rockpool.dev/v1alpha1", kind: "Workspace",
          metadata: { name: name.value.trim() }, spec });
        dialog.close();
        location.hash = `#/workspaces/${encodeURIComponent(name.value.trim())}`;
      } catch (x) { err.textContent = x.message; }
    } },
    h("p", {}, `A new workspace starting from snapshot "${snap}" (its disk and home), with ${w.metadata.name}'s settings.`),
    h("label", { for: "clone-name" }, "Name"), name, err,
    h("div.actions", {}, h("button.primary", { type: "submit" }, "Clone"),
      h("button", { type: "button", onclick: () => dialog.close() }, "Cancel"))));
  document.body.append(dialog);
  dialog.addEventListener("close", () => dialog.remove());
  dialog.showModal();
  name.focus();
}

function snapshotsTable(w) {
  const ws = w.metadata.name;
  const snaps = [...collection("workspacesnapshots").items.values()].filter((s) => s.spec?.workspace === ws)
    .sort((a, b) => ((a.status?.takenAt || "") < (b.status?.takenAt || "") ? 1 : -1));
  return h("div.scroll", {}, h("table", { "aria-label": "Snapshots" },
    h("thead", {}, h("tr", {}, ["Name", "Phase", "Taken", "Home", "Pause", ""].map((x) => h("th", {}, x)))),
    h("tbody", {}, snaps.length ? snaps.map((s) => h("tr", { "data-name": s.metadata.name },
      h("td", {}, s.metadata.name), h("td", {}, s.status?.phase || "Pending"), h("td", {}, s.status?.takenAt || ""),
      h("td", {}, s.status?.homeSnapshot ? "yes" : "no"),
      h("td", {}, s.status?.pauseMilliseconds !== undefined ? `${s.status.pauseMilliseconds} ms` : ""),
      h("td", {}, h("div.actions", {},
        s.status?.phase === "Ready" ? h("button", { onclick: () => restoreSnapshot(ws, s.metadata.name) }, "Restore") : null,
        s.status?.phase === "Ready" ? h("button", { onclick: () => cloneSnapshot(w, s.metadata.name) }, "Clone") : null,
        h("a", { href: `#/yaml/workspacesnapshots/${encodeURIComponent(s.metadata.name)}` }, "YAML"),
        h("button.danger", { onclick: () => confirmDelete("WorkspaceSnapshot", "workspacesnapshots", s.metadata.name) },
          "Delete")))))
      : h("tr", {}, h("td.muted", { colspan: 6 }, "No snapshots.")))));
}

function eventsTable(events) {
  return h("div.scroll", {}, h("table", { "aria-label": "Events" },
    h("thead", {}, h("tr", {}, ["Type", "Reason", "Object", "Message", "Count"].map((x) => h("th", {}, x)))),
    h("tbody", {}, events.length ? events.map((e) => h("tr", {},
      h("td", {}, e.spec.type), h("td", {}, e.spec.reason),
      h("td", {}, `${e.spec.involvedObject?.kind}/${e.spec.involvedObject?.name}`),
      h("td", {}, e.spec.message), h("td", {}, e.spec.count ?? 1)))
      : h("tr", {}, h("td.muted", { colspan: 5 }, "No events.")))));
}

function eventsPage() {
  const holder = h("div");
  page("Events", holder);
  return (plural) => plural !== "scroll" && holder.replaceChildren(eventsTable([...collection("events").items.values()]
    .sort((a, b) => ((a.spec.lastTimestamp || "") < (b.spec.lastTimestamp || "") ? 1 : -1))));
}

function nestedHostsPage() {
  const name = h("input", { type: "text", id: "nh-name", value: "rockpool-dev" });
  const err = h("p.error", { role: "alert" });
  const create = h("form.card", {
    "aria-label": "Create a nested host",
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = "";
      try {
        await request("POST", `${group}/nestedhosts`, { apiVersion: "rockpool.dev/v1alpha1", kind: "NestedHost",
          metadata: { name: name.value.trim() }, spec: { template: "rockpool-nested-host" } });
      } catch (x) { err.textContent = x.message; }
    },
  }, h("label", { for: "nh-name" }, "Name"), name,
     h("p", {}, h("button.primary", { type: "submit" }, "Create a nested host")), err);
  const { table, render } = liveTable("nestedhosts", ["Name", "Phase", "Ready", "Progress", "Inner", "Actions"],
    (n) => {
      const nm = n.metadata.name;
      const pending = (n.status?.conditions || []).find((c) => c.status !== "True" && c.type !== "Ready");
      const i = n.status?.inner || {};
      return h("tr", { "data-name": nm },
        h("td", {}, nm), h("td", {}, n.status?.phase || "Pending"),
        h(`td.${readyOf(n)}`, {}, readyOf(n)),
        h("td", {}, pending ? `${pending.type}: ${pending.message}` : "all conditions met"),
        h("td", {}, i.ready ? `${i.version || ""} · ${i.readyWorkspaces ?? "?"}/${i.workspaces ?? "?"} workspaces ready` : "—"),
        h("td", {}, h("div.actions", {},
          readyOf(n) === "True" ? h("a", { href: ideUrl(nm).replace(/\/workspace\/([^/]+)\/$/, "/workspace/$1/port/8080/app/"),
                                       target: "_blank", rel: "noopener" }, "Open inner UI") : null,
          h("a", { href: `#/yaml/nestedhosts/${encodeURIComponent(nm)}` }, "YAML"),
          h("button.danger", { onclick: () => confirmDelete("NestedHost", "nestedhosts", nm) }, "Delete"))));
    });
  page("Nested hosts", create, table);
  return render;
}

// Any object's YAML, with the same editor as a workspace's page.
function yamlPage(plural, name) {
  const editor = yamlEditor(plural, name);
  const missing = h("p.muted", { hidden: true }, "Not found (deleted?).");
  page(`${plural}/${name}`, missing, editor.panel);
  return (kind) => {
    if (kind === "scroll") return;
    const obj = collection(plural).items.get(name);
    missing.hidden = !!obj;
    if (obj) editor.show(obj);
  };
}

function hostPage() {
  const body = h("div");
  page("Host", body);
  return (plural) => {
    if (plural === "scroll") return;
    const host = collection("hosts").items.get("local");
    body.replaceChildren(host ? conditionsTable(host) : h("p.muted", {}, "Not probed yet."),
      h("p", {}, h("a", { href: "#/yaml/hosts/local" }, "YAML")));
  };
}

let current = null;
function route() {
  if (!signedIn()) return showSignIn();
  const [, kind, name, sub] = (location.hash || "#/workspaces").split("/");
  for (const a of document.querySelectorAll("nav a"))
    a.toggleAttribute("aria-current", a.getAttribute("href") === `#/${kind}`);
  if (a11yNav(kind)) a11yNav(kind).setAttribute("aria-current", "page");
  const pages = {
    workspaces: () => (name ? workspacePage(decodeURIComponent(name)) : workspacesPage()),
    nestedhosts: nestedHostsPage, events: eventsPage, host: hostPage,
    yaml: () => yamlPage(name, decodeURIComponent(sub || "")),
  };
  const needs = { workspaces: ["workspaces", "events", "workspacetemplates", "portroutes", "workspacesnapshots"],
                  nestedhosts: ["nestedhosts"],
                  events: ["events"], host: ["hosts"],
                  yaml: [["workspaces", "portroutes", "nestedhosts", "workspacetemplates", "hosts",
                          "workspacesnapshots"]
                    .includes(name) ? name : "workspaces"] }[kind] || ["workspaces"];
  needs.forEach(collection);
  current = (pages[kind] || pages.workspaces)();
  current();
}
const a11yNav = (kind) => document.querySelector(`nav a[href="#/${kind}"]`);

// Scrolling shows other rows of a long list.
addEventListener("scroll", () => listeners.forEach((f) => f("scroll")), { passive: true });
// Changes are drawn once per frame, however many arrive in it.
const pending = new Set();
listeners.add((plural) => {
  if (!pending.size) requestAnimationFrame(() => {
    const kinds = [...pending];
    pending.clear();
    if (current) kinds.forEach((k) => current(k));
  });
  pending.add(plural);
});
window.addEventListener("hashchange", route);
route();
