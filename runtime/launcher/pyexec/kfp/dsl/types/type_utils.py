"""Parameter and artifact type names, as in kfp.dsl.types.type_utils (2.x)."""

import re
from typing import Any, Optional, Union

from kfp.dsl.types import artifact_types

DEFAULT_ARTIFACT_SCHEMA_VERSION = '0.0.1'
PARAMETER_TYPES = Union[str, int, float, bool, dict, list]

# Component I/O type names (lowercased) of the artifact classes.
_ARTIFACT_CLASSES_MAPPING = {
    'artifact': artifact_types.Artifact,
    'model': artifact_types.Model,
    'dataset': artifact_types.Dataset,
    'metrics': artifact_types.Metrics,
    'classificationmetrics': artifact_types.ClassificationMetrics,
    'slicedclassificationmetrics': artifact_types.SlicedClassificationMetrics,
    'html': artifact_types.HTML,
    'markdown': artifact_types.Markdown,
}

# pipeline_spec ParameterType enum values.
NUMBER_DOUBLE = 1
NUMBER_INTEGER = 2
STRING = 3
BOOLEAN = 4
LIST = 5
STRUCT = 6
TASK_FINAL_STATUS = 7

# Component I/O type names (lowercased) that are parameters.
PARAMETER_TYPES_MAPPING = {
    'integer': NUMBER_INTEGER,
    'int': NUMBER_INTEGER,
    'double': NUMBER_DOUBLE,
    'float': NUMBER_DOUBLE,
    'string': STRING,
    'str': STRING,
    'text': STRING,
    'bool': BOOLEAN,
    'boolean': BOOLEAN,
    'dict': STRUCT,
    'list': LIST,
    'jsonobject': STRUCT,
    'jsonarray': LIST,
}

_SHORT_TYPE_NAME_RE = re.compile(r'(typing\.)?(?P<type>\w+)(?:\[.+\])?')


def get_short_type_name(type_name: str) -> str:
    """'typing.List[int]' -> 'List', 'str' -> 'str'."""
    match = _SHORT_TYPE_NAME_RE.match(type_name)
    return match['type'] if match else type_name


def create_bundled_artifact_type(schema_title: str,
                                 schema_version: Optional[str] = None) -> str:
    return f'{schema_title}@{schema_version or DEFAULT_ARTIFACT_SCHEMA_VERSION}'


def is_task_final_status_type(type_name: Any) -> bool:
    return isinstance(type_name, str) and type_name == 'PipelineTaskFinalStatus'


def is_task_config_type(type_name: Any) -> bool:
    return isinstance(type_name, str) and type_name == 'TaskConfig'


def is_parameter_type(type_name: Any) -> bool:
    """Whether a component I/O type name is a parameter type."""
    if isinstance(type_name, str):
        type_name = get_short_type_name(type_name)
    elif isinstance(type_name, dict):
        type_name = list(type_name.keys())[0]
    else:
        return False
    return (type_name.lower() in PARAMETER_TYPES_MAPPING or
            is_task_final_status_type(type_name))


def get_parameter_type(param_type: Any) -> Optional[int]:
    """The ParameterType enum value of a type (or type name), or None."""
    if is_task_final_status_type(param_type):
        param_type = 'dict'
    if type(param_type) == type:
        type_name = param_type.__name__
    elif isinstance(param_type, dict):
        type_name = list(param_type.keys())[0]
    else:
        type_name = get_short_type_name(str(param_type))
    return PARAMETER_TYPES_MAPPING.get(type_name.lower())
