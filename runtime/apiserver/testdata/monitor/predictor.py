"""A KServe V1 predictor for the monitoring test: instances are objects
{x1, x2, color}; each predicts W * (x1 + 0.5 * x2) + (1 if color is red),
W from $MODEL_DIR/model ("weights W", as examples/train-model writes)."""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

with open(os.path.join(os.environ["MODEL_DIR"], "model")) as f:
    W = next(float(line.split()[1]) for line in f if line.startswith("weights"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        out = [W * (float(i["x1"]) + 0.5 * float(i["x2"])) + (1 if i["color"] == "red" else 0) for i in req.get("instances", [])]
        data = json.dumps({"predictions": out}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
