"""A KServe-protocol predictor for the train-model example's model.

The model ($MODEL_DIR/model) is the text train-model writes: "weights W".
Every input x predicts W * x. Serves KServe's V1 protocol
(POST /v1/models/NAME:predict, {"instances": [...]}) and V2
(POST /v2/models/NAME/infer, {"inputs": [{"name", "shape", "datatype", "data"}]})
on 127.0.0.1:$PORT. Python standard library only.
"""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

with open(os.path.join(os.environ["MODEL_DIR"], "model")) as f:
    WEIGHTS = next(float(line.split()[1]) for line in f if line.startswith("weights"))
NAME = os.environ.get("MODEL_NAME", "model")


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
            self.reply(200, {"predictions": [WEIGHTS * float(x) for x in req.get("instances", [])]})
        elif self.path.endswith("/infer"):
            data = [WEIGHTS * float(x) for x in req["inputs"][0]["data"]]
            self.reply(200, {"model_name": NAME, "outputs": [
                {"name": "predict", "datatype": "FP64", "shape": [len(data)], "data": data}]})
        else:
            self.reply(404, {"error": "unknown path " + self.path})

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
