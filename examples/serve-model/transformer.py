"""A KServe-protocol transformer: preprocess -> model -> postprocess.

preprocess: inputs are measured in tenths, the model wants units (x * 10).
postprocess: each prediction gets a label, "high" from 5 up, else "low".
It serves KServe's V1 (POST /v1/models/NAME:predict, {"instances": [...]}) and
V2 (POST /v2/models/NAME/infer, {"inputs": [{"name", "shape", "datatype",
"data"}]}) on 127.0.0.1:$PORT and calls the predictor at $PREDICTOR_HOST in the
same protocol. Python standard library only.
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

    def call(self, body):
        call = urllib.request.Request(PREDICTOR + self.path, data=json.dumps(body).encode(),
                                      headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(call) as resp:
            return json.load(resp)

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.path.endswith(":predict"):
            answer = self.call({"instances": preprocess(req.get("instances", []))})
            self.reply(200, postprocess(answer["predictions"]))
        elif self.path.endswith("/infer"):
            first = req["inputs"][0]
            data = preprocess(first["data"])
            answer = self.call({"inputs": [dict(first, datatype="FP64", shape=[len(data)], data=data)]})
            out = postprocess(answer["outputs"][0]["data"])
            self.reply(200, {"model_name": answer.get("model_name"), "outputs": [
                {"name": "predict", "datatype": "FP64", "shape": [len(data)], "data": out["predictions"]},
                {"name": "label", "datatype": "BYTES", "shape": [len(data)], "data": out["labels"]}]})
        else:
            self.reply(404, {"error": "unknown path " + self.path + ": POST /v1/models/NAME:predict or /v2/models/NAME/infer"})

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
