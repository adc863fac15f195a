#!/bin/sh
exec python3 -m http.server "$PORT" --bind 0.0.0.0
