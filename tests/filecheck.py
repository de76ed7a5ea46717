"""A small in-house FileCheck, so pass tests can state what printed IR must
contain without pinning every byte (LLVM's FileCheck, the subset we need).

    filecheck(print_graph(g), '''
        CHECK: graph f(%x: f32[4]) {
        CHECK-NEXT: [[E:%\\d+]]: f32[4] = exp(%x)
        CHECK-NOT: exp(
        CHECK: add([[E]], [[E]])
    ''')

Directives (one per line; other lines are ignored, so checks can carry
comments; a leading `//` or `#` before a directive is allowed):

* `CHECK: pat`      the next line, at or after the scan position, containing `pat`;
* `CHECK-NEXT: pat` exactly the line after the previous match;
* `CHECK-NOT: pat`  no line between the previous match and the next positive
                    match (or the end of the output) contains `pat`.

In a pattern, `[[NAME:regex]]` captures what `regex` matched as NAME and
`[[NAME]]` must match exactly what NAME captured earlier; `{{regex}}` is an
inline regex; everything else is literal text, and a run of whitespace matches
any run of spaces or tabs. Unlike LLVM, each match consumes its whole line.
Failures raise AssertionError naming the failed check and showing the output.
"""
from __future__ import annotations

import re

_DIRECTIVE = re.compile(r"^\s*(?://+|#+)?\s*(CHECK|CHECK-NEXT|CHECK-NOT):(.*)$")
_SPECIAL = re.compile(r"\[\[(\w+)(?::(.*?))?\]\]|\{\{(.*?)\}\}")


def _literal(text: str) -> str:
    return r"[ \t]+".join(re.escape(part) for part in re.split(r"\s+", text))


def _compile(pattern: str, captured: dict[str, str], fail) -> tuple[re.Pattern, list[str]]:
    """The pattern as a regex, and the names it defines (in order)."""
    parts, defines, pos = [], [], 0
    for m in _SPECIAL.finditer(pattern):
        parts.append(_literal(pattern[pos:m.start()]))
        name, regex, inline = m.groups()
        if inline is not None:
            parts.append(f"(?:{inline})")
        elif regex is not None:
            if name in defines:
                fail(f"capture [[{name}]] is defined twice in one pattern")
            parts.append(f"(?P<{name}>{regex})")
            defines.append(name)
        elif name in defines:
            parts.append(f"(?P={name})")
        elif name in captured:
            parts.append(re.escape(captured[name]))
        else:
            fail(f"capture [[{name}]] is used before any check defines it")
        pos = m.end()
    parts.append(_literal(pattern[pos:]))
    return re.compile("".join(parts)), defines


def filecheck(output: str, checks: str) -> None:
    """Raise AssertionError unless `output` satisfies the directives in `checks`."""
    lines = output.splitlines()
    directives = [(n, m.group(1), m.group(2).strip()) for n, line in enumerate(checks.splitlines(), 1)
                  if (m := _DIRECTIVE.match(line))]
    if not directives:
        raise AssertionError("filecheck: the check text has no CHECK, CHECK-NEXT or CHECK-NOT lines")
    captured: dict[str, str] = {}
    scan, last, pending_not = 0, None, []  # next line to search; last matched line

    def report(check_no, kind, pattern, problem, start=None):
        shown = "\n".join(f"{'>' if i == start else ' '}{i + 1:4} | {text}" for i, text in enumerate(lines))
        raise AssertionError(f"filecheck: check line {check_no} `{kind}: {pattern}` failed: {problem}\n"
                             f"captures: {captured}\noutput ('>' marks where the search began):\n{shown}")

    def check_nots(end):
        for no, pattern, regex in pending_not:
            for i in range(scan, end):
                if regex.search(lines[i]):
                    report(no, "CHECK-NOT", pattern, f"found on output line {i + 1}: {lines[i]!r}", scan)
        pending_not.clear()

    for no, kind, pattern in directives:
        regex, defines = _compile(pattern, captured, lambda why: report(no, kind, pattern, why, scan))
        if kind == "CHECK-NOT":
            if defines:
                report(no, kind, pattern, "CHECK-NOT cannot define captures")
            pending_not.append((no, pattern, regex))
            continue
        if kind == "CHECK-NEXT":
            if last is None:
                report(no, kind, pattern, "CHECK-NEXT needs a CHECK before it")
            found = last + 1 if last + 1 < len(lines) and regex.search(lines[last + 1]) else None
            where = (f"line {last + 2} is {lines[last + 1]!r}" if last + 1 < len(lines)
                     else "the output ends there")
            problem = f"expected on the line right after output line {last + 1}; {where}"
        else:
            found = next((i for i in range(scan, len(lines)) if regex.search(lines[i])), None)
            problem = "no matching line at or after the search start"
        if found is None:
            report(no, kind, pattern, problem, min(scan, len(lines) - 1) if lines else None)
        check_nots(found)
        match = regex.search(lines[found])
        captured.update({name: match.group(name) for name in defines})
        last, scan = found, found + 1
    check_nots(len(lines))
