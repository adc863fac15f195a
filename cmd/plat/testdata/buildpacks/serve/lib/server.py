"""Serves the files the buildpacks wrote and the variables .profile.d set."""
import http.server
import os

FILES = ["second.txt", "greeting.txt", "cache-count.txt", "first-env.txt"]
VARS = ["FIRST_PROFILE", "FIRST_MODE", "SERVE_HOME", "PLAT_RELEASE"]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        lines = []
        for name in FILES:
            try:
                with open(name) as f:
                    for line in f.read().splitlines():
                        lines.append("%s: %s" % (name, line))
            except OSError as e:
                lines.append("%s: %s" % (name, e))
        for var in VARS:
            lines.append("%s=%s" % (var, os.environ.get(var, "(unset)")))
        lines.append("cwd=" + os.getcwd())
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(os.environ["PORT"])
    http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
