import { test } from "node:test";
import assert from "node:assert/strict";
import { diffLines, editable, toYaml } from "../yaml.js";

test("objects print as block YAML; strings that would read as something else are quoted", () => {
  const y = toYaml({ apiVersion: "rockpool.dev/v1alpha1", kind: "Workspace",
                     metadata: { name: "demo", labels: {} },
                     spec: { image: "rockpool-tiny", state: "on", cpu: 2, nesting: true, note: "a: b",
                             ports: [8080, 9000], list: [{ a: 1, b: "x" }], none: null, v: "1.5" } });
  assert.equal(y, [
    "apiVersion: rockpool.dev/v1alpha1", "kind: Workspace", "metadata:", "  name: demo", "  labels: {}",
    "spec:", "  image: rockpool-tiny", '  state: "on"', "  cpu: 2", "  nesting: true", '  note: "a: b"',
    "  ports:", "  - 8080", "  - 9000", "  list:", "  - a: 1", "    b: x", "  none: null", '  v: "1.5"', ""].join("\n"));
});

test("the diff keeps common lines and marks removed and added ones", () => {
  const d = diffLines("a\nb\nc", "a\nc\nd");
  assert.deepEqual(d.map((x) => x.op + x.line), [" a", "-b", " c", "+d"]);
});

test("what is edited leaves out status and the server's metadata", () => {
  const e = editable({ apiVersion: "v", kind: "K", metadata: { name: "n", uid: "u", resourceVersion: "3",
    annotations: { "rockpool.dev/last-applied": "{}", team: "a" } }, spec: { x: 1 }, status: { y: 2 } });
  assert.deepEqual(e, { apiVersion: "v", kind: "K", metadata: { name: "n", annotations: { team: "a" } },
                        spec: { x: 1 } });
});
