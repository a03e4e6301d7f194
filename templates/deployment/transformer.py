"""A KServe-style transformer in front of predictor.py.

Preprocess: the instances may be numbers or {"x": number} objects; the predictor gets numbers.
Postprocess: each prediction gets a label, "low" below 5, else "high".
The predictor is at $PREDICTOR_HOST; this serves 127.0.0.1:$PORT. Standard library only.
"""
import json
import os
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREDICTOR = "http://" + os.environ["PREDICTOR_HOST"]


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
        xs = [float(i["x"]) if isinstance(i, dict) else float(i) for i in req.get("instances", [])]
        upstream = urllib.request.Request(PREDICTOR + self.path, data=json.dumps({"instances": xs}).encode(),
                                          headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(upstream) as resp:
            preds = json.loads(resp.read())["predictions"]
        self.reply(200, {"predictions": preds, "labels": ["low" if p < 5 else "high" for p in preds]})

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
