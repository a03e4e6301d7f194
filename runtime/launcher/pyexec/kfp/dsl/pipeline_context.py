"""@dsl.pipeline as a no-op decorator (with or without arguments)."""

from kfp.dsl.component_decorator import _noop_decorator


def pipeline(func=None, **kwargs):
    return _noop_decorator(func, **kwargs)
