// YAML for showing and editing objects (JSON in, YAML text out; the server
// parses what the user types), and a line diff for "review before apply".

const plain = /^[A-Za-z0-9_./@-][A-Za-z0-9 _./@:-]*$/;
const ambiguous = /^(true|false|null|yes|no|on|off|y|n|~|[-+]?(\d[\d_]*)?\.?\d*([eE][-+]?\d+)?|0x[0-9a-f]+|\.inf|\.nan)$/i;

function scalar(v) {
  if (v === null || v === undefined) return "null";
  if (typeof v !== "string") return String(v);
  // Plain when nothing in it could be read as another type or as syntax.
  return plain.test(v) && !ambiguous.test(v) && !/: | #|\s$/.test(v) ? v : JSON.stringify(v);
}

const key = (k) => (plain.test(k) && !ambiguous.test(k) && !k.includes(":") ? k : JSON.stringify(k));
const isMap = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const empty = (v) => (Array.isArray(v) ? v.length === 0 : isMap(v) && Object.keys(v).length === 0);

function lines(v, indent) {
  const out = [];
  if (Array.isArray(v)) {
    for (const item of v) {
      if ((isMap(item) || Array.isArray(item)) && !empty(item)) {
        const inner = lines(item, indent + "  ");
        out.push(indent + "- " + inner[0].slice(indent.length + 2), ...inner.slice(1));
      } else {
        out.push(`${indent}- ${empty(item) ? JSON.stringify(item) : scalar(item)}`);
      }
    }
  } else {
    for (const [k, x] of Object.entries(v)) {
      if (empty(x)) out.push(`${indent}${key(k)}: ${JSON.stringify(x)}`);
      else if (isMap(x)) out.push(`${indent}${key(k)}:`, ...lines(x, indent + "  "));
      else if (Array.isArray(x)) out.push(`${indent}${key(k)}:`, ...lines(x, indent));
      else out.push(`${indent}${key(k)}: ${scalar(x)}`);
    }
  }
  return out;
}

export function toYaml(v) {
  return lines(v, "").join("\n") + "\n";
}

// Line diff (longest common subsequence): [{op: " " | "-" | "+", line}].
export function diffLines(a, b) {
  const x = a.split("\n"), y = b.split("\n");
  const n = x.length, m = y.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) { out.push({ op: " ", line: x[i] }); i++; j++; }
    else if (j < m && (i === n || lcs[i][j + 1] > lcs[i + 1][j])) out.push({ op: "+", line: y[j++] });
    else out.push({ op: "-", line: x[i++] });
  }
  return out;
}

// What a user edits: the fields an apply sets (no status, no server-set metadata).
export function editable(obj) {
  const md = { name: obj.metadata.name };
  if (obj.metadata.labels) md.labels = obj.metadata.labels;
  if (obj.metadata.annotations) {
    const a = Object.fromEntries(Object.entries(obj.metadata.annotations)
      .filter(([k]) => !k.startsWith("rockpool.dev/")));
    if (Object.keys(a).length) md.annotations = a;
  }
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata: md, spec: obj.spec || {} };
}
