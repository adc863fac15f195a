"""notes: a small web app using only the Python standard library.

It serves an index page listing notes from SQLite, the compiled static
assets, and /healthz. Settings come from the private settings.json plat
copies into each release (mode 0600), and PORT from the environment.
"""
import html
import json
import os
import runpy
import signal
import socket
import sqlite3
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))


def load_settings():
    path = os.path.join(HERE, "settings.json")
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {"greeting": "Hello"}


SETTINGS = load_settings()


def db_path():
    """NOTES_DB (relative to the host's deploy_to), else db/ (a linked dir)."""
    p = os.environ.get("NOTES_DB")
    if p:
        return os.path.join(os.environ.get("PLAT_DEPLOY_TO", HERE), p)
    return os.path.join(HERE, "db", "notes.sqlite3")


DB = db_path()


def read_version():
    with open(os.path.join(HERE, "VERSION")) as f:
        return f.read().strip()


class Handler(BaseHTTPRequestHandler):
    server_version = "notes"

    def do_GET(self):
        if self.path == "/healthz":
            return self.send(200, "text/plain", b"ok\n")
        if self.path.startswith("/static/"):
            return self.static(self.path[len("/static/"):])
        if self.path == "/":
            return self.index()
        return self.send(404, "text/plain", b"not found\n")

    def index(self):
        try:
            with sqlite3.connect(DB) as db:
                notes = [row[0] for row in db.execute("SELECT body FROM notes ORDER BY id")]
        except sqlite3.Error as e:
            return self.send(500, "text/plain", f"database: {e}\n".encode())
        with open(os.path.join(HERE, "templates", "index.html")) as f:
            page = f.read()
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        page = (page.replace("{{greeting}}", html.escape(SETTINGS.get("greeting", "Hello")))
                    .replace("{{version}}", html.escape(read_version()))
                    .replace("{{release}}", html.escape(os.environ.get("PLAT_RELEASE", "-")))
                    .replace("{{host}}", html.escape(os.environ.get("PLAT_HOST", "-")))
                    .replace("{{notes}}", items))
        self.send(200, "text/html; charset=utf-8", page.encode())

    def static(self, name):
        root = os.path.join(HERE, "static")
        path = os.path.normpath(os.path.join(root, name))
        if not path.startswith(root + os.sep) or not os.path.isfile(path):
            return self.send(404, "text/plain", b"not found\n")
        ctype = "text/css" if path.endswith(".css") else "application/javascript"
        with open(path, "rb") as f:
            self.send(200, ctype, f.read())

    def send(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


class Server(ThreadingHTTPServer):
    """Shares its port with the next generation of the app (SO_REUSEPORT),
    so plat's restart = "overlap" starts the new process before the old one
    stops, and finishes the requests it has accepted before exiting."""

    daemon_threads = False  # server_close waits for requests in flight

    def server_bind(self):
        if hasattr(socket, "SO_REUSEPORT"):
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


def main():
    if os.environ.get("MIGRATE_ON_START"):
        # Hosts with a database each (the laptop's containers) migrate
        # their own at start; migrate.py is idempotent. run_path leaves
        # no __pycache__ in the release (status --verify would see it).
        runpy.run_path(os.path.join(HERE, "migrate.py"))
    port = int(os.environ.get("PORT", "8000"))
    host = os.environ.get("BIND", "127.0.0.1")
    server = Server((host, port), Handler)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    print(f"notes {read_version()} listening on {host}:{port}", flush=True)
    stop.wait()
    # On TERM: close the listening socket first, so new connections go to
    # the process that shares the port, then finish what was accepted.
    server.socket.close()
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
