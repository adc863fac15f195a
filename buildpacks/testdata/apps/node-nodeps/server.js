const http = require("http");
const fs = require("fs");
const page = fs.readFileSync(__dirname + "/dist/index.html");
http.createServer((req, res) => res.end(page)).listen(process.env.PORT || 3000);
