// The watch client under node --test: resume, 410 relist, ordering, backoff.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Collection } from "../watch.js";
import { apiBase } from "../api.js";

const ws = (name, rv, phase = "Running") =>
  ({ metadata: { name, resourceVersion: String(rv) }, status: { phase } });

// A scripted server: each call of stream() plays the next script entry.
function harness(lists, streams) {
  const calls = { lists: 0, streams: [], sleeps: [] };
  const ac = new AbortController();
  const c = new Collection({
    path: "apis/rockpool.dev/v1alpha1/workspaces",
    fetchJSON: async () => lists[Math.min(calls.lists++, lists.length - 1)],
    stream: async (path, onEvent) => {
      calls.streams.push(path);
      const step = streams.shift();
      if (!step) { ac.abort(); return; }
      for (const ev of step.events || []) onEvent(ev);
      if (step.fail) throw step.fail;
    },
    onChange: () => {},
    sleep: async (ms) => { calls.sleeps.push(ms); },
    backoff: (n) => 100 * 2 ** n,
  });
  return { c, calls, run: () => c.run(ac.signal) };
}

const list = (rv, ...items) => ({ metadata: { resourceVersion: String(rv) }, items });

test("watches from the list's version and resumes from the last event after a disconnect", async () => {
  const h = harness([list(5, ws("a", 3))], [
    { events: [{ type: "MODIFIED", object: ws("a", 6, "Stopped") }], fail: new Error("reset") },
    { events: [{ type: "ADDED", object: ws("b", 7) }] },
  ]);
  await h.run();
  assert.equal(h.calls.lists, 1, "a resume does not list again");
  assert.match(h.calls.streams[0], /resourceVersion=5$/);
  assert.match(h.calls.streams[1], /resourceVersion=6$/);
  assert.equal(h.c.items.get("a").status.phase, "Stopped");
  assert.ok(h.c.items.has("b"));
});

test("410 Gone lists again, as an HTTP status or as an ERROR event", async () => {
  const gone = Object.assign(new Error("too old"), { status: 410 });
  const h = harness([list(5, ws("a", 3)), list(20, ws("c", 19))], [
    { fail: gone },
    { events: [{ type: "ERROR", object: { kind: "Status", code: 410, message: "too old" } }] },
  ]);
  await h.run();
  assert.equal(h.calls.lists, 3);
  assert.deepEqual([...h.c.items.keys()], ["c"], "the relist replaces what was known");
  assert.match(h.calls.streams[1], /resourceVersion=20$/);
});

test("an event older than what is known of an object does not move it back; DELETED removes", async () => {
  const h = harness([list(9, ws("a", 9, "Running"))], [
    { events: [{ type: "MODIFIED", object: ws("a", 8, "Pending") },
               { type: "ADDED", object: ws("b", 10) },
               { type: "DELETED", object: ws("b", 11) },
               { type: "BOOKMARK", object: { metadata: { resourceVersion: "12" } } }] },
    {},
  ]);
  await h.run();
  assert.equal(h.c.items.get("a").status.phase, "Running");
  assert.ok(!h.c.items.has("b"));
  assert.match(h.calls.streams[1], /resourceVersion=12$/);
});

test("failures back off, growing, and an event resets the backoff", async () => {
  const h = harness([list(1)], [
    { fail: new Error("refused") }, { fail: new Error("refused") }, { fail: new Error("refused") },
    { events: [{ type: "ADDED", object: ws("a", 2) }], fail: new Error("reset") },
  ]);
  await h.run();
  assert.deepEqual(h.calls.sleeps, [100, 200, 400, 100]);
});

test("the API is found at the page's own prefix", () => {
  assert.equal(apiBase("/app/"), "/api/");
  assert.equal(apiBase("/workspace/rockpool-dev/port/8080/app/"), "/workspace/rockpool-dev/port/8080/api/");
  assert.equal(apiBase("/app/index.html"), "/api/");
});
