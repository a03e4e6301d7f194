"""kubeline's builtin KFP runtime.

A standard-library-only re-implementation of the parts of the ``kfp`` SDK
(2.x) that a lightweight Python component needs at run time:
``python3 -m kfp.dsl.executor_main``, the ``kfp.dsl`` artifact classes and
annotations, and the executor that calls the component function and writes
executor_output.json. The compiler, client and pipeline DSL are not here.
"""

__version__ = '2.14.3'

TYPE_CHECK = True

from kfp import dsl  # noqa: E402,F401
