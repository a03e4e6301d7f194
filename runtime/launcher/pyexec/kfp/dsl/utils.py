"""Helpers of kfp.dsl used by executor_main."""

import importlib.util
import os
import sys
import types


def load_module(module_name: str, module_directory: str) -> types.ModuleType:
    """Imports <module_directory>/<module_name>.py as module_name, with
    module_directory first on sys.path (as KFP does)."""
    spec = importlib.util.spec_from_file_location(
        name=module_name,
        location=os.path.join(module_directory, f'{module_name}.py'),
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    sys.path.insert(0, str(module_directory))
    spec.loader.exec_module(module)
    return module
