"""Build task: compile assets/ into static/ (concatenate and strip comments)."""
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
src, out = os.path.join(HERE, "assets"), os.path.join(HERE, "static")
os.makedirs(out, exist_ok=True)
for ext in ("css", "js"):
    parts = []
    for name in sorted(os.listdir(src)):
        if name.endswith("." + ext):
            with open(os.path.join(src, name)) as f:
                parts.append(re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S).strip())
    with open(os.path.join(out, "app." + ext), "w") as f:
        f.write("\n".join(parts) + "\n")
print("assets built")
