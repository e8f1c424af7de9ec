#!/usr/bin/env python3
"""Rewrites every `<!-- snippet: NAME -->` + ```csharp block in docs/guides/*.md with the region
`// <snippet NAME>` ... `// </snippet>` of tests/Asupersync.Guides.Tests/Snippets/*.cs (dedented).
tests/Asupersync.Guides.Tests checks that the two agree, so edit the snippet, then run this."""
import os, re, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
snip_dir = os.path.join(root, "tests", "Asupersync.Guides.Tests", "Snippets")
region = re.compile(r"^[ \t]*// <snippet ([\w-]+)>\n(.*?)\n[ \t]*// </snippet>", re.S | re.M)
block = re.compile(r"<!-- snippet: ([\w-]+) -->\s*\n```csharp\n.*?\n```", re.S)

snippets = {}
for f in sorted(os.listdir(snip_dir)):
    if f.endswith(".cs"):
        for m in region.finditer(open(os.path.join(snip_dir, f)).read()):
            lines = m.group(2).split("\n")
            indent = min(len(l) - len(l.lstrip()) for l in lines if l.strip())
            snippets[m.group(1)] = "\n".join((l[indent:] if len(l) >= indent else l.lstrip()).rstrip() for l in lines)

guides = os.path.join(root, "docs", "guides")
missing = []
for f in sorted(os.listdir(guides)):
    if not f.endswith(".md"):
        continue
    path = os.path.join(guides, f)
    text = open(path).read()
    def sub(m):
        name = m.group(1)
        if name not in snippets:
            missing.append(f"{f}: {name}")
            return m.group(0)
        return f"<!-- snippet: {name} -->\n```csharp\n{snippets[name]}\n```"
    new = block.sub(sub, text)
    if new != text:
        open(path, "w").write(new)
        print("updated", f)
if missing:
    sys.exit("unknown snippets: " + ", ".join(missing))
