"""The real kfp SDK (../shared/kfp-sdk, 2.15.2) against a kubeline server.

Run by cmd/kubeline's TestKFPSDK with KUBELINE_API set to the server's URL:
six SDK-written pipelines compiled by the SDK and run through
create_run_from_pipeline_func, create_run_from_pipeline_package and upload +
run_pipeline; final states and outputs asserted (each pipeline's last step
checks what it received, and artifacts are read back through the API); list
runs with filters and paging; a recurring run that fires twice; archive,
terminate, delete.
"""
import base64
import json
import os
import tempfile
import time
import unittest
import warnings

warnings.filterwarnings("ignore", category=FutureWarning)

import requests  # noqa: E402
import kfp  # noqa: E402
from kfp import compiler, dsl  # noqa: E402
from kfp.dsl import Dataset, Input, Model, Output  # noqa: E402

API = os.environ["KUBELINE_API"]
TIMEOUT = 180


# 1. Parameters and artifacts between lightweight Python components.
@dsl.component
def make_numbers(n: int, numbers: Output[Dataset]) -> str:
    with open(numbers.path, "w") as f:
        f.write(",".join(str(i) for i in range(n)))
    return "made %d" % n


@dsl.component
def total(numbers: Input[Dataset], model: Output[Model]) -> int:
    values = [int(x) for x in open(numbers.path).read().split(",")]
    model.metadata["count"] = len(values)
    with open(model.path, "w") as f:
        f.write("total=%d" % sum(values))
    return sum(values)


@dsl.component
def expect(got: str, want: str):
    if got != want:
        raise ValueError("got %r, want %r" % (got, want))
    print("checked", got)


@dsl.component
def expect_int(got: int, want: int):
    if got != want:
        raise ValueError("got %r, want %r" % (got, want))
    print("checked", got)


@dsl.pipeline(name="sdk-artifacts")
def artifacts_pipeline(n: int = 5):
    made = make_numbers(n=n)
    t = total(numbers=made.outputs["numbers"])
    expect(got=made.outputs["Output"], want="made 5")
    expect_int(got=t.outputs["Output"], want=10)


# 2. If / Elif / Else.
@dsl.component
def pick(x: int) -> int:
    return x


@dsl.component
def say(msg: str) -> str:
    print(msg)
    return msg


@dsl.pipeline(name="sdk-conditions")
def conditions_pipeline(x: int = 7):
    p = pick(x=x)
    with dsl.If(p.output < 5):
        s1 = say(msg="small")
    with dsl.Elif(p.output < 10):
        s2 = say(msg="medium")
    with dsl.Else():
        s3 = say(msg="large")
    expect(got=dsl.OneOf(s1.output, s2.output, s3.output), want="medium")


# 3. ParallelFor with its outputs Collected.
@dsl.component
def square(x: int) -> int:
    return x * x


@dsl.component
def add_all(xs: list) -> int:
    return sum(xs)


@dsl.pipeline(name="sdk-loop")
def loop_pipeline():
    with dsl.ParallelFor([1, 2, 3, 4]) as item:
        sq = square(x=item)
    s = add_all(xs=dsl.Collected(sq.output))
    expect_int(got=s.output, want=30)


# 4. An exit handler that runs after a body.
@dsl.component
def cleanup(status: dsl.PipelineTaskFinalStatus):
    print("exit handler: the body ended", status.state)


@dsl.pipeline(name="sdk-exit-handler")
def exit_pipeline():
    with dsl.ExitHandler(cleanup()):
        say(msg="inside the handler")


# 5. A failing task.
@dsl.component
def fail(msg: str):
    raise RuntimeError(msg)


@dsl.pipeline(name="sdk-failing")
def failing_pipeline():
    fail(msg="this task fails on purpose")


# 6. A pipeline used as a component of another.
@dsl.pipeline(name="inner")
def inner(x: int) -> int:
    return square(x=x).output


@dsl.pipeline(name="sdk-nested")
def nested_pipeline(x: int = 6):
    i = inner(x=x)
    expect_int(got=i.output, want=36)


class SDKAgainstKubeline(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = kfp.Client(host=API)
        cls.tmp = tempfile.mkdtemp()
        cls.exp = cls.client.create_experiment("sdk-test")
        # The six pipelines start together, each by one of the SDK's ways.
        c, runs = cls.client, {}
        runs["artifacts"] = c.create_run_from_pipeline_func(artifacts_pipeline, arguments={"n": 5},
                                                            experiment_name="sdk-test", run_name="artifacts").run_id
        runs["conditions"] = c.create_run_from_pipeline_package(cls.package(conditions_pipeline, "conditions"),
                                                                arguments={"x": 7}, run_name="conditions",
                                                                experiment_name="sdk-test").run_id
        p = c.upload_pipeline(cls.package(loop_pipeline, "loop"), pipeline_name="sdk-loop")
        v = c.list_pipeline_versions(p.pipeline_id).pipeline_versions[0]
        runs["loop"] = c.run_pipeline(experiment_id=cls.exp.experiment_id, job_name="loop", pipeline_id=p.pipeline_id,
                                      version_id=v.pipeline_version_id).run_id
        runs["exit"] = c.create_run_from_pipeline_func(exit_pipeline, arguments={}, run_name="exit",
                                                       experiment_name="sdk-test").run_id
        runs["failing"] = c.create_run_from_pipeline_func(failing_pipeline, arguments={}, run_name="failing",
                                                          experiment_name="sdk-test").run_id
        runs["nested"] = c.create_run_from_pipeline_package(cls.package(nested_pipeline, "nested"), arguments={"x": 6},
                                                            run_name="nested", experiment_name="sdk-test").run_id
        cls.runs = runs

    @classmethod
    def package(cls, func, name):
        path = os.path.join(cls.tmp, name + ".yaml")
        compiler.Compiler().compile(func, path)
        return path

    def wait(self, run_id, want):
        run = self.client.wait_for_run_completion(run_id, timeout=TIMEOUT, sleep_duration=1)
        self.assertEqual(run.state, want, "run %s: %s" % (run_id, run.error))
        return run

    def states(self, run):
        return {t.display_name: t.state for t in run.run_details.task_details}

    def test_1_artifacts_from_func(self):
        run_id = self.runs["artifacts"]
        run = self.wait(run_id, "SUCCEEDED")
        tasks = {t.display_name: t for t in run.run_details.task_details}
        self.assertEqual(tasks["total"].run_id, run_id)
        self.assertTrue(tasks["total"].execution_id)
        self.assertIn("numbers", tasks["total"].inputs)
        # The model artifact's content, read through the API.
        data = requests.get("%s/apis/v2beta1/runs/%s/nodes/%s/artifacts/model:read" % (API, run_id, tasks["total"].task_id))
        self.assertEqual(data.status_code, 200, data.text)
        self.assertEqual(base64.b64decode(data.json()["data"]).decode(), "total=10")

    def test_2_conditions_from_package(self):
        states = self.states(self.wait(self.runs["conditions"], "SUCCEEDED"))
        self.assertEqual(states.get("say-2"), "SUCCEEDED", states)  # the Elif branch
        self.assertEqual(states.get("condition-2"), "SKIPPED", states)  # If
        self.assertEqual(states.get("condition-4"), "SKIPPED", states)  # Else

    def test_3_loop_uploaded(self):
        states = self.states(self.wait(self.runs["loop"], "SUCCEEDED"))
        self.assertEqual(states.get("add-all"), "SUCCEEDED", states)

    def test_4_exit_handler(self):
        states = self.states(self.wait(self.runs["exit"], "SUCCEEDED"))
        self.assertEqual(states.get("cleanup"), "SUCCEEDED", states)

    def test_5_failing_task(self):
        run = self.wait(self.runs["failing"], "FAILED")
        self.assertEqual(self.states(run).get("fail"), "FAILED")
        self.assertIn("fail", str(run.error))

    def test_6_nested_pipeline(self):
        self.wait(self.runs["nested"], "SUCCEEDED")

    def test_7_lists_filters_paging(self):
        for i in range(3):
            self.client.create_run_from_pipeline_func(say_pipeline, arguments={"msg": "list %d" % i},
                                                      run_name="list-%d" % i, experiment_name="sdk-test")
        flt = json.dumps({"predicates": [{"operation": "IS_SUBSTRING", "key": "display_name", "string_value": "list-"}]})
        page = self.client.list_runs(experiment_id=self.exp.experiment_id, page_size=2, filter=flt, sort_by="created_at desc")
        self.assertEqual(len(page.runs), 2)
        self.assertEqual(page.total_size, 3)
        rest = self.client.list_runs(experiment_id=self.exp.experiment_id, page_size=2, filter=flt,
                                     sort_by="created_at desc", page_token=page.next_page_token)
        self.assertEqual(len(rest.runs), 1)
        names = [r.display_name for r in page.runs + rest.runs]
        self.assertEqual(names, ["list-2", "list-1", "list-0"])

    def test_8_recurring_run_fires_twice(self):
        path = self.package(say_pipeline, "say")
        rr = self.client.create_recurring_run(experiment_id=self.exp.experiment_id, job_name="every-second",
                                              pipeline_package_path=path, params={"msg": "tick"},
                                              interval_second=1, no_catchup=True, max_concurrency=2)
        got = self.client.get_recurring_run(rr.recurring_run_id)
        self.assertIsNotNone(got.pipeline_spec)
        flt = json.dumps({"predicates": [{"operation": "EQUALS", "key": "recurring_run_id", "string_value": rr.recurring_run_id}]})
        deadline = time.time() + 60
        runs = []
        while time.time() < deadline:
            runs = self.client.list_runs(filter=flt, page_size=10).runs or []
            if len(runs) >= 2:
                break
            time.sleep(0.5)
        self.client.disable_recurring_run(rr.recurring_run_id)
        self.assertGreaterEqual(len(runs), 2)
        for r in runs[:2]:
            self.wait(r.run_id, "SUCCEEDED")
        self.client.delete_recurring_run(rr.recurring_run_id)

    def test_9_terminate_archive_delete(self):
        r = self.client.create_run_from_pipeline_func(sleep_pipeline, arguments={}, run_name="to-terminate",
                                                      experiment_name="sdk-test")
        deadline = time.time() + 60
        while self.client.get_run(r.run_id).state != "RUNNING" and time.time() < deadline:
            time.sleep(0.3)
        self.client.terminate_run(r.run_id)
        # wait_for_run_completion does not count CANCELED as an end.
        while self.client.get_run(r.run_id).state != "CANCELED" and time.time() < deadline:
            time.sleep(0.3)
        self.assertEqual(self.client.get_run(r.run_id).state, "CANCELED")
        self.client.archive_run(r.run_id)
        self.assertEqual(self.client.get_run(r.run_id).storage_state, "ARCHIVED")
        self.client.delete_run(r.run_id)
        with self.assertRaises(Exception):
            self.client.get_run(r.run_id)


@dsl.pipeline(name="sdk-say")
def say_pipeline(msg: str = "hello"):
    say(msg=msg)


@dsl.component
def sleep_long():
    import time
    time.sleep(120)


@dsl.pipeline(name="sdk-sleep")
def sleep_pipeline():
    sleep_long()


if __name__ == "__main__":
    unittest.main(verbosity=2)
