"""A stdlib-only web app."""
import http.server
import os


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from python\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    http.server.HTTPServer(("0.0.0.0", port), Hello).serve_forever()
