"""Compile-time decorators, as no-ops: at run time the executor calls the
plain function, so @dsl.component and @dsl.container_component (with or
without arguments) return the function unchanged."""


def _noop_decorator(func=None, **kwargs):
    if func is None:
        return lambda f: f
    return func


def component(func=None, **kwargs):
    return _noop_decorator(func, **kwargs)


def container_component(func=None, **kwargs):
    return _noop_decorator(func, **kwargs)


def notebook_component(func=None, **kwargs):
    return _noop_decorator(func, **kwargs)
