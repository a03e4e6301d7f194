"""A KServe-protocol transformer: preprocess -> model -> postprocess.

preprocess: inputs are measured in tenths, the model wants units (x * 10).
postprocess: each prediction gets a label, "high" from 5 up, else "low".
It serves V1 on 127.0.0.1:$PORT and calls the predictor at $PREDICTOR_HOST.
Python standard library only.
"""
import json
import os
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREDICTOR = "http://" + os.environ["PREDICTOR_HOST"]


def preprocess(instances):
    return [float(x) * 10 for x in instances]


def postprocess(predictions):
    return {"predictions": predictions, "labels": ["high" if p >= 5 else "low" for p in predictions]}


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
        if not self.path.endswith(":predict"):
            self.reply(404, {"error": "this transformer speaks V1: POST /v1/models/NAME:predict"})
            return
        body = json.dumps({"instances": preprocess(req.get("instances", []))}).encode()
        call = urllib.request.Request(PREDICTOR + self.path, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(call) as resp:
            answer = json.load(resp)
        self.reply(200, postprocess(answer["predictions"]))

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
