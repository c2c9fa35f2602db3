#!/usr/bin/python3
"""Issue 21's size rules for production C++ (actors, cli, controller, crds, runtime,
specs): no file over 500 lines, and no function over 60 lines unless the
comment right above it has a line starting `// Long:` with the reason.

A function is a brace block opened at namespace or class level after a `)`
(comments, strings and character literals are blanked first); a class, struct,
enum or namespace block is looked into. Usage: check-code-size.py [REPO_DIR]
Prints each violation as FILE:LINE and exits 1 when there is one."""
import os
import re
import sys

MAX_FILE, MAX_FUNCTION = 500, 60
ROOTS = ("actors", "cli", "controller", "crds", "runtime", "specs")


def blank(src):
    """Comments, strings and character literals replaced by spaces (newlines kept)."""
    out, i, n = [], 0, len(src)
    while i < n:
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2) + 2
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif src.startswith('R"', i) and re.match(r'R"([^(]*)\(', src[i:]):
            delim = re.match(r'R"([^(]*)\(', src[i:]).group(1)
            j = src.find(")" + delim + '"', i) + len(delim) + 2
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif src[i] in "\"'" and not (src[i] == "'" and i > 0 and src[i - 1].isalnum()):
            q, j = src[i], i + 1
            while j < n and src[j] != q:
                j += 2 if src[j] == "\\" else 1
            out.append(re.sub(r"[^\n]", " ", src[i : j + 1]))
            i = j + 1
        else:
            out.append(src[i])
            i += 1
    return "".join(out)


def long_functions(path):
    raw = open(path, encoding="utf-8").read()
    text = blank(raw)
    raw_lines = raw.split("\n")
    stack, head, line = [], "", 1  # head: code since the last ; { or }
    found = []
    for ch in text:
        if ch == "\n":
            line += 1
        if ch == "{":
            scope = all(kind in ("namespace", "class") for kind, _ in stack)
            h = head.strip()
            if re.search(r"\bnamespace\b", h):
                kind = "namespace"
            elif scope and re.search(r"\b(class|struct|union|enum)\b", h) and not h.endswith(")"):
                kind = "class"
            elif scope and ")" in h:
                kind = "function"
            else:
                kind = "block"
            stack.append((kind, line))
            head = ""
        elif ch == "}":
            if stack:
                kind, start = stack.pop()
                if kind == "function" and line - start + 1 > MAX_FUNCTION:
                    found.append((start, line - start + 1))
            head = ""
        elif ch == ";":
            head = ""
        else:
            head += ch
    out = []
    for start, length in found:
        # The comment block right above the signature (which may span lines).
        i = start - 1
        while i > 0 and not raw_lines[i - 1].strip().startswith("//") and raw_lines[i - 1].strip():
            i -= 1
        reasons = []
        while i > 0 and raw_lines[i - 1].strip().startswith("//"):
            reasons.append(raw_lines[i - 1].strip())
            i -= 1
        if not any(r.startswith("// Long:") for r in reasons):
            out.append(f"{path}:{start}: a function of {length} lines (over {MAX_FUNCTION}, "
                       "and no `// Long:` reason above it)")
    return out


def main():
    repo = sys.argv[1] if len(sys.argv) > 1 else "."
    problems = []
    for root in ROOTS:
        for d, _, files in os.walk(os.path.join(repo, root)):
            for f in sorted(files):
                if not f.endswith((".cpp", ".hpp")):
                    continue
                path = os.path.join(d, f)
                rel = os.path.relpath(path, repo)
                lines = open(path, encoding="utf-8").read().count("\n")
                if lines > MAX_FILE:
                    problems.append(f"{rel}:1: {lines} lines (over {MAX_FILE})")
                problems += [p.replace(path, rel) for p in long_functions(path)]
    for p in problems:
        print(p)
    print(f"check-code-size: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
