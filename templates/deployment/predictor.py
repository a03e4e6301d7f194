"""A KServe V1 predictor for the line pipeline.yaml trains.

The model ($MODEL_DIR/model) is the text "weights W"; every input x predicts W * x.
POST /v1/models/NAME:predict with {"instances": [...]} on 127.0.0.1:$PORT.
Python standard library only.
"""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

with open(os.path.join(os.environ["MODEL_DIR"], "model")) as f:
    WEIGHTS = next(float(line.split()[1]) for line in f if line.startswith("weights"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.path.endswith(":predict"):
            self.reply(200, {"predictions": [round(WEIGHTS * float(x), 4) for x in req.get("instances", [])]})
        else:
            self.reply(404, {"error": "unknown path " + self.path})

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
