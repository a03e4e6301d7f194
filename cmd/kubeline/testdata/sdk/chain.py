"""A chain of 20 trivial lightweight Python components (each adds one).

  chain.py compile FILE   compiles it with the real kfp SDK to FILE
  chain.py local ROOT     runs it with kfp.local's SubprocessRunner(use_venv=False),
                          pipeline root ROOT, and prints the seconds it took

Offline there is no pip, so the components do not pip-install kfp
(install_kfp_package=False): kfp.local and kubeline both run them with the
kfp already at hand.
"""
import sys
import time
import warnings

warnings.filterwarnings("ignore")

from kfp import compiler, dsl, local  # noqa: E402

N = 20


@dsl.component(install_kfp_package=False)
def add(a: int) -> int:
    return a + 1


@dsl.pipeline(name="python-chain")
def chain() -> int:
    t = add(a=0)
    for _ in range(N - 1):
        t = add(a=t.output)
    return t.output


if __name__ == "__main__":
    if sys.argv[1] == "compile":
        compiler.Compiler().compile(chain, sys.argv[2])
    else:
        local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=sys.argv[2])
        start = time.monotonic()
        out = chain()
        took = time.monotonic() - start
        if out.output != N:
            sys.exit("output %r, want %d" % (out.output, N))
        print("%.3f" % took)
