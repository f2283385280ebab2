"""The bench's yardstick: a bare Flask app answering the current-AQI URL with the real app's bytes from memory.

`bench.api_load` writes the real answer (body and headers) to BENCH_BARE_ANSWER and runs this under gunicorn
with the same settings as `make serve`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from flask import Flask, Response

ANSWER = Path(os.environ["BENCH_BARE_ANSWER"])
BODY = ANSWER.with_suffix(".body").read_bytes()
HEADERS = json.loads(ANSWER.read_text())

app = Flask(__name__)


@app.get("/api/v1/aqi/current")
def aqi_current() -> Response:
    return Response(BODY, headers=HEADERS)
