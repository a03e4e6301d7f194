"""kfp.dsl at component run time (kubeline's builtin KFP runtime).

``from kfp.dsl import *`` exports what KFP's kfp.dsl exports at run time
(_KFP_RUNTIME=true): the artifact classes, Input/Output/InputPath/OutputPath,
PipelineTaskFinalStatus, get_uri and the placeholder constants. The
compile-time decorators (component, container_component, pipeline) are
attributes that return the function unchanged; as in KFP they join the
star-export only when _KFP_RUNTIME is not 'true'.
"""

__all__ = [
    'Input',
    'Output',
    'InputPath',
    'OutputPath',
    'PipelineTaskFinalStatus',
    'Artifact',
    'ClassificationMetrics',
    'Dataset',
    'HTML',
    'Markdown',
    'Metrics',
    'Model',
    'SlicedClassificationMetrics',
    'get_uri',
    'PIPELINE_JOB_NAME_PLACEHOLDER',
    'PIPELINE_JOB_RESOURCE_NAME_PLACEHOLDER',
    'PIPELINE_JOB_ID_PLACEHOLDER',
    'PIPELINE_TASK_NAME_PLACEHOLDER',
    'PIPELINE_TASK_ID_PLACEHOLDER',
    'PIPELINE_TASK_EXECUTOR_OUTPUT_PATH_PLACEHOLDER',
    'PIPELINE_TASK_EXECUTOR_INPUT_PLACEHOLDER',
    'PIPELINE_ROOT_PLACEHOLDER',
    'PIPELINE_JOB_CREATE_TIME_UTC_PLACEHOLDER',
    'PIPELINE_JOB_SCHEDULE_TIME_UTC_PLACEHOLDER',
    'WORKSPACE_PATH_PLACEHOLDER',
    'EmbeddedInput',
    'TaskConfig',
]

import os
from typing import Annotated, TypeVar

from kfp.dsl.component_decorator import component
from kfp.dsl.component_decorator import container_component
from kfp.dsl.component_decorator import notebook_component
from kfp.dsl.pipeline_context import pipeline
from kfp.dsl.task_config import TaskConfig
from kfp.dsl.task_final_status import PipelineTaskFinalStatus
from kfp.dsl.types.artifact_types import Artifact
from kfp.dsl.types.artifact_types import ClassificationMetrics
from kfp.dsl.types.artifact_types import Dataset
from kfp.dsl.types.artifact_types import get_uri
from kfp.dsl.types.artifact_types import HTML
from kfp.dsl.types.artifact_types import Markdown
from kfp.dsl.types.artifact_types import Metrics
from kfp.dsl.types.artifact_types import Model
from kfp.dsl.types.artifact_types import SlicedClassificationMetrics
from kfp.dsl.types.type_annotations import EmbeddedAnnotation
from kfp.dsl.types.type_annotations import InputAnnotation
from kfp.dsl.types.type_annotations import InputPath
from kfp.dsl.types.type_annotations import OutputAnnotation
from kfp.dsl.types.type_annotations import OutputPath

PIPELINE_JOB_NAME_PLACEHOLDER = '{{$.pipeline_job_name}}'
PIPELINE_JOB_RESOURCE_NAME_PLACEHOLDER = '{{$.pipeline_job_resource_name}}'
PIPELINE_JOB_ID_PLACEHOLDER = '{{$.pipeline_job_uuid}}'
PIPELINE_TASK_NAME_PLACEHOLDER = '{{$.pipeline_task_name}}'
PIPELINE_TASK_ID_PLACEHOLDER = '{{$.pipeline_task_uuid}}'
PIPELINE_TASK_EXECUTOR_OUTPUT_PATH_PLACEHOLDER = '{{$.outputs.output_file}}'
PIPELINE_TASK_EXECUTOR_INPUT_PLACEHOLDER = '{{$}}'
PIPELINE_ROOT_PLACEHOLDER = '{{$.pipeline_root}}'
PIPELINE_JOB_CREATE_TIME_UTC_PLACEHOLDER = '{{$.pipeline_job_create_time_utc}}'
PIPELINE_JOB_SCHEDULE_TIME_UTC_PLACEHOLDER = '{{$.pipeline_job_schedule_time_utc}}'
WORKSPACE_PATH_PLACEHOLDER = '{{$.workspace_path}}'

T = TypeVar('T')

Input = Annotated[T, InputAnnotation]
"""Input[T]: an input artifact of artifact class T (or List[T])."""

Output = Annotated[T, OutputAnnotation]
"""Output[T]: an output artifact of artifact class T."""

EmbeddedInput = Annotated[T, EmbeddedAnnotation]
"""EmbeddedInput[T]: an artifact of class T whose path is the asset embedded
in the component source (__KFP_EMBEDDED_ASSET_FILE, else
__KFP_EMBEDDED_ASSET_DIR)."""

if os.environ.get('_KFP_RUNTIME', 'false') != 'true':
    __all__.extend(['component', 'container_component', 'pipeline'])
