// Serves a value computed by its one dependency from the npm registry.
const http = require("http");
const ms = require("ms");
const body = "ms(60000) = " + ms(60000) + "\n";
http.createServer((req, res) => res.end(body)).listen(process.env.PORT, "127.0.0.1");
