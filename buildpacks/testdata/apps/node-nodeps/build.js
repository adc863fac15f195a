// The build script: writes dist/index.html from a template.
const fs = require("fs");
fs.mkdirSync("dist", { recursive: true });
fs.writeFileSync("dist/index.html", "<p>built by npm run build</p>\n");
