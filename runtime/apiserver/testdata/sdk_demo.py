from kfp import dsl, compiler
import warnings

from kfp.dsl import Input, Output, Dataset, Model

warnings.filterwarnings("ignore", category=FutureWarning)

@dsl.component
def make_data(n: int, data: Output[Dataset]) -> str:
    print("making %d rows" % n)
    with open(data.path, "w") as f:
        f.write("\n".join(str(i) for i in range(n)))
    return "made %d" % n

@dsl.component
def train(data: Input[Dataset], model: Output[Model]) -> float:
    lines = open(data.path).read().split()
    model.metadata["rows"] = len(lines)
    with open(model.path, "w") as f:
        f.write("sum=%d" % sum(int(x) for x in lines))
    return float(len(lines)) / 2

@dsl.component
def flip() -> str:
    return "heads"

@dsl.component
def say(msg: str) -> str:
    print("saying", msg)
    return msg

@dsl.pipeline(name="demo")
def demo(n: int = 5):
    d = make_data(n=n)
    t = train(data=d.outputs["data"])
    f = flip()
    with dsl.If(f.output == "heads"):
        say(msg="it was heads")
    with dsl.Else():
        say(msg="tails")
    with dsl.ParallelFor([1, 2, 3]) as item:
        s = say(msg=str(item))
    
@dsl.component
def fail(msg: str):
    raise RuntimeError(msg)

@dsl.pipeline(name="fails")
def fails(msg: str = "this step fails on purpose"):
    f = flip()
    fail(msg=msg).after(f)

# Regenerate sdk_demo.yaml and sdk_fail.yaml (kfp 2.15.2 from ../shared/kfp-sdk):
#   PYTHONPATH=../shared/kfp-sdk /usr/bin/python3 runtime/apiserver/testdata/sdk_demo.py
compiler.Compiler().compile(demo, "runtime/apiserver/testdata/sdk_demo.yaml")
compiler.Compiler().compile(fails, "runtime/apiserver/testdata/sdk_fail.yaml")
