"""The executor of Python function components, as kfp.dsl.executor (2.x).

Executor(executor_input, func).execute() builds the function's arguments
from executor_input, calls it and writes executor_output.json:

  {"parameterValues": {NAME: VALUE, ...},
   "artifacts": {NAME: {"artifacts": [{"name", "uri", "metadata"}]}, ...}}

Differences from KFP, all additive: parameter values are coerced to the
annotated type where KFP would pass a mistyped JSON value through (an int
parameter given 3.0 or "3" gets 3, a str "true" for a bool, JSON text for
a list/dict, and so on inside List[X] and Dict[K, V]); the values written to OutputPath(<parameter type>) files are read
back into parameterValues (with kubeline's launcher rules; a file that does
not parse is left to the launcher); file:// uris are accepted; an output
artifact whose content the component put elsewhere than its declared path
(set_path(), a changed uri, a returned artifact built on dsl.get_uri()) is
copied to the declared path, where kubeline's launcher looks for it.

Artifacts' uris are where kubeline stores them (an S3 uri in a pod, as on
KFP on a cluster); their local paths come from the file named by
$KUBELINE_ARTIFACT_PATHS ({uri: path}), which ``.path`` reads.
"""

import inspect
import json
import math
import os
import re
import shutil
from typing import Any, Callable, Dict, List, Optional, Union
import warnings

from kfp.dsl import task_final_status
from kfp.dsl.task_config import TaskConfig
from kfp.dsl.types import artifact_types
from kfp.dsl.types import type_annotations
from kfp.dsl.types import type_utils
from kfp.dsl.types.artifact_types import Artifact


class Executor:
    """Executes a Python function component."""

    def __init__(self, executor_input: Dict, function_to_execute: Callable):
        self.func = getattr(function_to_execute, 'python_func',
                            function_to_execute)
        self.executor_input = executor_input
        self.executor_output_path = self.executor_input['outputs']['outputFile']

        # dsl.get_uri() builds on the directory of executor_output.json.
        artifact_types.CONTAINER_TASK_ROOT = os.path.split(
            self.executor_output_path)[0]
        # kubeline's launcher gives the artifacts' uris (where they are
        # stored) in executor_input and their local paths in a file.
        paths_file = os.environ.get('KUBELINE_ARTIFACT_PATHS')
        if paths_file:
            with open(paths_file, encoding='utf-8') as f:
                artifact_types.set_local_paths(json.load(f))

        self.annotations = _resolved_annotations(self.func)
        self.input_artifacts: Dict[str, Union[Artifact, List[Artifact]]] = {}
        self.output_artifacts: Dict[str, Artifact] = {}
        # The local path of each output artifact as executor_input gives it.
        self.declared_output_paths: Dict[str, str] = {}
        self.assign_input_and_output_artifacts()

        self.return_annotation = self.annotations.get(
            'return', inspect.Signature.empty)
        self.excutor_output: Dict[str, Any] = {}

    # ---- artifacts ----------------------------------------------------

    def assign_input_and_output_artifacts(self) -> None:
        inputs = self.executor_input.get('inputs') or {}
        for name, artifacts in (inputs.get('artifacts') or {}).items():
            structs = (artifacts or {}).get('artifacts')
            if not structs:
                continue
            annotation = type_annotations.maybe_strip_optional_from_annotation(
                self.annotations.get(name))
            is_list = (type_annotations.is_Input_Output_artifact_annotation(
                annotation) and type_annotations.is_list_of_artifacts(
                    annotation.__origin__)
                      ) or type_annotations.is_list_of_artifacts(annotation)
            if is_list:
                inner = self._resolve_list_artifact_inner_type(
                    name, annotation)
                self.input_artifacts[name] = [
                    self.make_artifact(s, name, annotation=inner)
                    for s in structs
                ]
            else:
                self.input_artifacts[name] = self.make_artifact(
                    structs[0], name)

        outputs = self.executor_input.get('outputs') or {}
        for name, artifacts in (outputs.get('artifacts') or {}).items():
            structs = (artifacts or {}).get('artifacts')
            if not structs:
                continue
            artifact = self.make_artifact(structs[0], name)
            self.output_artifacts[name] = artifact
            self.declared_output_paths[name] = artifact.path
            makedirs_recursively(artifact.path)

    def _resolve_list_artifact_inner_type(self, input_name: str,
                                          list_annotation: Any) -> Any:
        """List[T], Input[List[T]] (or nested lists) -> the artifact class T."""
        inner = list_annotation
        if type_annotations.is_Input_Output_artifact_annotation(inner):
            inner = inner.__origin__
        while type_annotations.is_generic_list(inner):
            inner = type_annotations.get_inner_type(inner)
            if inner is None or isinstance(inner, tuple):
                raise TypeError(
                    f"Input '{input_name}' expects a list of a single artifact "
                    f'type, got {list_annotation!r}.')
        if not type_annotations.is_artifact_class(inner):
            raise TypeError(
                f"Input '{input_name}' expects a list of artifacts, but "
                f'received {list_annotation!r} whose inner type {inner!r} is '
                'not an artifact.')
        return inner

    def make_artifact(self,
                      runtime_artifact: Dict,
                      name: str,
                      annotation: Optional[Any] = None) -> Any:
        if annotation is None:
            annotation = type_annotations.maybe_strip_optional_from_annotation(
                self.annotations.get(name))
        if type_annotations.is_list_of_artifacts(annotation):
            annotation = self._resolve_list_artifact_inner_type(
                name, annotation)
        if isinstance(annotation,
                      (type_annotations.InputPath, type_annotations.OutputPath)):
            # (KFP raises a TypeError for a schema it does not know; the
            # runtime artifact's schemaTitle decides the class anyway.)
            schema_title = str(annotation.type).split('@')[0]
            artifact_cls = artifact_types._SCHEMA_TITLE_TO_TYPE.get(
                schema_title, Artifact)
        else:
            artifact_cls = type_annotations.strip_Input_or_Output_marker(
                annotation)
            if type_annotations.is_generic_list(artifact_cls):
                artifact_cls = self._resolve_list_artifact_inner_type(
                    name, artifact_cls)
            if not type_annotations.is_artifact_class(artifact_cls):
                artifact_cls = Artifact
        return create_artifact_instance(
            runtime_artifact, fallback_artifact_cls=artifact_cls)

    def get_input_artifact(self, name: str) -> Any:
        return self.input_artifacts.get(name)

    def get_output_artifact(self, name: str) -> Optional[Artifact]:
        return self.output_artifacts.get(name)

    def get_output_artifact_path(self, artifact_name: str) -> str:
        output_artifact = self.output_artifacts.get(artifact_name)
        if not output_artifact:
            raise ValueError('Failed to get output artifact path for artifact '
                             f'name {artifact_name}')
        return output_artifact.path

    def get_input_artifact_path(self, artifact_name: str) -> str:
        input_artifact = self.input_artifacts.get(artifact_name)
        if not input_artifact:
            raise ValueError('Failed to get input artifact path for artifact '
                             f'name {artifact_name}')
        return input_artifact.path

    # ---- parameters ---------------------------------------------------

    def get_input_parameter_value(self, parameter_name: str) -> Any:
        values = (self.executor_input.get('inputs') or {}).get(
            'parameterValues')
        if values is None:
            return None
        return values.get(parameter_name)

    def get_output_parameter_path(self, parameter_name: str) -> Optional[str]:
        parameter = ((self.executor_input.get('outputs') or {}).get(
            'parameters') or {}).get(parameter_name)
        if parameter is None:
            return None
        path = parameter.get('outputFile')
        if path:
            makedirs_recursively(path)
        return path

    def write_output_parameter_value(self, name: str, value: Any) -> None:
        if not isinstance(value, (str, int, float, bool, list, dict)):
            raise ValueError(
                f'Unable to serialize unknown type `{value}` for parameter '
                f'input with value `{type(value)}`')
        self.excutor_output.setdefault('parameterValues', {})[name] = value

    def write_output_artifact_payload(self, name: str, value: Any) -> None:
        path = self.get_output_artifact_path(name)
        with open(path, 'w') as f:
            f.write(str(value))

    # ---- return values ------------------------------------------------

    def handle_single_return_value(self, output_name: str, annotation_type: Any,
                                   return_value: Any) -> None:
        if is_parameter(annotation_type):
            origin_type = getattr(annotation_type, '__origin__',
                                  None) or annotation_type
            # A float output accepts an int, as in KFP.
            accepted = (int, float) if origin_type == float else origin_type
            if not isinstance(return_value, accepted):
                raise ValueError(
                    f'Function `{self.func.__name__}` returned value of type '
                    f'{type(return_value)}; want type {origin_type}')
            self.write_output_parameter_value(output_name, return_value)
        elif is_artifact(annotation_type):
            if isinstance(return_value, artifact_types.Artifact):
                # -> Artifact, where the function returns an artifact object.
                if 'VERTEX_AI_PIPELINES_RUN_LABELS' in os.environ:
                    declared = ((((self.executor_input.get('outputs') or
                                   {}).get('artifacts') or {}).get(output_name)
                                 or {}).get('artifacts') or [{}])[0]
                    if return_value.name == '':
                        return_value.name = declared.get('name', '')
                    else:
                        warnings.warn(
                            'If you are running your pipeline Vertex AI '
                            'Pipelines, you should not provide a name for your '
                            'artifact. Got value for name: '
                            f'{return_value.name}.',
                            RuntimeWarning,
                            stacklevel=2)
                self.output_artifacts[output_name] = return_value
            else:
                # -> Artifact, where the function returns the payload.
                self.write_output_artifact_payload(output_name, return_value)
        else:
            raise RuntimeError(
                f'Unknown return type: {annotation_type}. Must be one of the '
                'supported data types: '
                'https://www.kubeflow.org/docs/components/pipelines/v2/data-types/'
            )

    def write_executor_output(self,
                              func_output: Optional[Any] = None
                             ) -> Optional[str]:
        """Records the function's return value and the output artifacts and
        writes executor_output.json; returns its path (None on a non-chief
        worker of a distributed job, which writes nothing, as in KFP)."""
        if func_output is not None:
            annotation = self.return_annotation
            if is_parameter(annotation) or is_artifact(annotation):
                # A single output is named `Output`.
                self.handle_single_return_value('Output', annotation,
                                                func_output)
            elif is_named_tuple(annotation):
                fields = annotation._fields
                if len(fields) != len(func_output):
                    raise RuntimeError(
                        f'Expected {len(fields)} return values from function '
                        f'`{self.func.__name__}`, got {len(func_output)}')
                field_types = _resolved_field_annotations(annotation, self.func)
                for i, field in enumerate(fields):
                    if type(func_output) == tuple:
                        value = func_output[i]
                    else:
                        value = getattr(func_output, field)
                    self.handle_single_return_value(field, field_types[field],
                                                    value)
            else:
                raise RuntimeError(
                    f'Unknown return type: {annotation}. Must be one of `str`, '
                    '`int`, `float`, a subclass of `Artifact`, or a NamedTuple '
                    'collection of these types.')

        self._read_back_output_path_parameters()
        self._copy_relocated_outputs()

        if self.output_artifacts:
            self.excutor_output['artifacts'] = {}
        for name, artifact in self.output_artifacts.items():
            runtime_artifact = {
                'name': artifact.name,
                'uri': artifact.uri,
                'metadata': artifact.metadata,
            }
            custom_path = getattr(artifact, 'custom_path', None)
            if custom_path:
                runtime_artifact['custom_path'] = custom_path
            self.excutor_output['artifacts'][name] = {
                'artifacts': [runtime_artifact]
            }

        # Only the chief of a distributed (mirrored) job writes the file.
        cluster_spec = os.environ.get('CLUSTER_SPEC')
        if cluster_spec:
            task_type = json.loads(cluster_spec).get('task', {}).get('type')
            if task_type not in {'workerpool0', 'chief', 'master'}:
                return None

        makedirs_recursively(self.executor_output_path)
        with open(self.executor_output_path, 'w') as f:
            f.write(json.dumps(self.excutor_output))
        return self.executor_output_path

    def _read_back_output_path_parameters(self) -> None:
        """Puts what the function wrote to its OutputPath(<parameter type>)
        files into parameterValues, parsed as kubeline's launcher parses
        output-parameter files. A missing or unparsable file is skipped: the
        launcher then reads the file itself and reports the problem."""
        for name, annotation in self.annotations.items():
            if name == 'return' or not isinstance(annotation,
                                                  type_annotations.OutputPath):
                continue
            if not is_parameter(annotation.type):
                continue
            if name in self.excutor_output.get('parameterValues', {}):
                continue
            path = self.get_output_parameter_path(name)
            if not path or not os.path.isfile(path):
                continue
            try:
                with open(path, 'rb') as f:
                    text = f.read().decode('utf-8')
            except (OSError, UnicodeDecodeError):
                continue
            ok, value = _parse_output_file(
                text, type_utils.get_parameter_type(annotation.type))
            if ok:
                self.excutor_output.setdefault('parameterValues',
                                               {})[name] = value

    def _copy_relocated_outputs(self) -> None:
        """Puts each output artifact's content where executor_input said it
        goes, when the component put it elsewhere: set_path() (custom_path,
        which KFP's launcher uploads from), a changed .path/.uri, or a
        returned artifact object (``-> Dataset`` with dsl.get_uri()). The
        content is copied; executor_output.json still reports the artifact
        as the component left it. A source that does not exist is skipped."""
        for name, artifact in self.output_artifacts.items():
            target = self.declared_output_paths.get(name)
            try:
                source = artifact.path
            except Exception:
                continue
            if not source or not target or not os.path.exists(source):
                continue
            if os.path.realpath(source) == os.path.realpath(target):
                continue
            makedirs_recursively(target)
            if os.path.isdir(source):
                if os.path.isfile(target) or os.path.islink(target):
                    os.remove(target)
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                if os.path.isdir(target) and not os.path.islink(target):
                    shutil.rmtree(target)
                shutil.copyfile(source, target)

    # ---- execution ----------------------------------------------------

    def execute(self) -> Optional[str]:
        """Calls the function with its arguments from executor_input and
        writes executor_output.json."""
        func_kwargs = {}
        for k, v in self.annotations.items():
            if k == 'return':
                continue
            v = type_annotations.maybe_strip_optional_from_annotation(v)

            if v == task_final_status.PipelineTaskFinalStatus:
                value = self.get_input_parameter_value(k) or {}
                if isinstance(value, str):
                    value = json.loads(value)
                # pipelineJobResourceName and pipelineTaskName are the
                # deprecated spellings; KFP accepts both.
                job = value.get('pipelineJobResourceName')
                if job is None:
                    job = value.get('pipeline_job_resource_name')
                task = value.get('pipelineTaskName')
                if task is None:
                    task = value.get('pipeline_task_name')
                error = value.get('error') or {}
                func_kwargs[k] = task_final_status.PipelineTaskFinalStatus(
                    state=value.get('state'),
                    pipeline_job_resource_name=job,
                    pipeline_task_name=task,
                    error_code=error.get('code'),
                    error_message=error.get('message'),
                )

            elif v == TaskConfig:
                value = self.get_input_parameter_value(k) or {}
                func_kwargs[k] = TaskConfig(
                    affinity=value.get('affinity'),
                    tolerations=value.get('tolerations'),
                    node_selector=value.get('nodeSelector'),
                    env=value.get('env'),
                    volumes=value.get('volumes'),
                    volume_mounts=value.get('volumeMounts'),
                    resources=value.get('resources'),
                )

            elif type_annotations.is_list_of_artifacts(v):
                func_kwargs[k] = self.get_input_artifact(k)

            elif is_parameter(v):
                value = self.get_input_parameter_value(k)
                if value is not None:
                    func_kwargs[k] = coerce_parameter_value(value, v)

            elif type_annotations.is_Input_Output_artifact_annotation(v):
                if type_annotations.is_artifact_wrapped_in_Input(v):
                    func_kwargs[k] = self.get_input_artifact(k)
                if type_annotations.is_artifact_wrapped_in_Output(v):
                    func_kwargs[k] = self.get_output_artifact(k)

            elif type_annotations.is_embedded_input_annotation(v):
                func_kwargs[k] = self._embedded_artifact(v)

            elif is_artifact(v):
                func_kwargs[k] = self.get_input_artifact(k)

            elif isinstance(v, type_annotations.OutputPath):
                if is_parameter(v.type):
                    func_kwargs[k] = self.get_output_parameter_path(k)
                else:
                    func_kwargs[k] = self.get_output_artifact_path(k)

            elif isinstance(v, type_annotations.InputPath):
                func_kwargs[k] = self.get_input_artifact_path(k)

        result = self.func(**func_kwargs)
        return self.write_executor_output(result)

    def _embedded_artifact(self, annotation: Any) -> Artifact:
        """An artifact whose path is the asset the component source embeds
        (its module globals __KFP_EMBEDDED_ASSET_FILE / _DIR)."""
        inner = type_annotations.strip_Input_or_Output_marker(annotation)
        artifact_cls = inner if type_annotations.is_artifact_class(
            inner) else artifact_types.Artifact
        func_globals = getattr(self.func, '__globals__', {})
        embedded_file = func_globals.get('__KFP_EMBEDDED_ASSET_FILE')
        embedded_dir = func_globals.get('__KFP_EMBEDDED_ASSET_DIR')
        artifact = artifact_cls()
        if embedded_file:
            artifact.path = embedded_file
        elif embedded_dir:
            artifact.path = embedded_dir
        else:
            raise RuntimeError('EmbeddedInput was specified but no embedded '
                               'asset was found at runtime.')
        return artifact


def create_artifact_instance(runtime_artifact: Dict,
                             fallback_artifact_cls=Artifact) -> Any:
    """An artifact object for a RuntimeArtifact dict: the class registered
    for its schemaTitle, else fallback_artifact_cls."""
    schema_title = (runtime_artifact.get('type') or {}).get('schemaTitle', '')
    artifact_cls = artifact_types._SCHEMA_TITLE_TO_TYPE.get(
        schema_title, fallback_artifact_cls)
    fields = dict(
        uri=runtime_artifact.get('uri', ''),
        name=runtime_artifact.get('name', ''),
        metadata=runtime_artifact.get('metadata') or {},
    )
    if hasattr(artifact_cls, '_from_executor_fields'):
        return artifact_cls._from_executor_fields(**fields)
    return artifact_cls(**fields)


def is_parameter(annotation: Any) -> bool:
    if isinstance(annotation, type):
        if annotation in (str, int, float, bool, dict, list):
            return True
        name = getattr(annotation, '__name__', '')
        if type_utils.is_task_final_status_type(
                name) or type_utils.is_task_config_type(name):
            return True
    return type_utils.is_parameter_type(str(annotation))


def is_artifact(annotation: Any) -> bool:
    if type(annotation) == type:
        return type_annotations.is_artifact_class(annotation)
    return False


def is_named_tuple(annotation: Any) -> bool:
    if type(annotation) == type:
        return issubclass(annotation, tuple) and hasattr(
            annotation, '_fields') and hasattr(annotation, '__annotations__')
    return False


def makedirs_recursively(path: str) -> None:
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)


# ---- helpers -------------------------------------------------------------


def _resolve_string_annotation(annotation: Any, func: Callable) -> Any:
    """Evaluates an annotation written as a string (PEP 563); returns it
    unchanged when it cannot be evaluated."""
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, getattr(func, '__globals__', {}))  # noqa: S307
    except Exception:
        return annotation


def _resolved_annotations(func: Callable) -> Dict[str, Any]:
    annotations = inspect.getfullargspec(func).annotations
    return {
        k: _resolve_string_annotation(v, func) for k, v in annotations.items()
    }


def _resolved_field_annotations(named_tuple: Any,
                                func: Callable) -> Dict[str, Any]:
    return {
        k: _resolve_string_annotation(v, func)
        for k, v in named_tuple.__annotations__.items()
    }


_INT_RE = re.compile(r'[+-]?\d+')
_DECIMAL_RE = re.compile(r'[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?')


def _parse_number(text: str) -> Optional[float]:
    text = text.strip()
    if not _DECIMAL_RE.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def coerce_parameter_value(value: Any, annotation: Any) -> Any:
    """Gives an input parameter value the annotated type where JSON typing
    lost it, elements of List[X] and values of Dict[K, V] included; a value
    that already fits (or cannot be converted) is passed as is, as KFP does.
    An int for a float parameter stays an int, as in KFP (protojson writes
    3.0 as 3)."""
    origin = getattr(annotation, '__origin__', None) or annotation
    if not isinstance(origin, type):
        return value
    if origin is bool:
        if isinstance(value, str) and value.strip().lower() in ('true',
                                                                'false'):
            return value.strip().lower() == 'true'
        return value
    if origin is int:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            text = value.strip()
            if _INT_RE.fullmatch(text):
                return int(text)
            number = _parse_number(text)
            if number is not None and number.is_integer():
                return int(number)
        return value
    if origin is float:
        if isinstance(value, str):
            number = _parse_number(value)
            if number is not None:
                return number
        return value
    if issubclass(origin, (list, dict)) and isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if not isinstance(parsed, origin):
            return value
        value = parsed
    args = getattr(annotation, '__args__', None) or ()
    if issubclass(origin, list) and isinstance(value, list) and len(args) == 1:
        return [coerce_parameter_value(v, args[0]) for v in value]
    if issubclass(origin, dict) and isinstance(value, dict) and len(args) == 2:
        return {k: coerce_parameter_value(v, args[1]) for k, v in value.items()}
    return value


def _parse_output_file(text: str, parameter_type: Optional[int]):
    """(ok, value) for an output-parameter file, by kubeline's launcher
    rules: a string is the text as is, numbers and booleans are trimmed,
    lists and structs are JSON."""
    if parameter_type in (None, type_utils.STRING):
        return True, text
    if parameter_type == type_utils.NUMBER_INTEGER:
        number = _parse_number(text)
        if number is None or not number.is_integer():
            return False, None
        return True, int(number)
    if parameter_type == type_utils.NUMBER_DOUBLE:
        number = _parse_number(text)
        return (number is not None), number
    if parameter_type == type_utils.BOOLEAN:
        word = text.strip().lower()
        if word in ('true', 'false'):
            return True, word == 'true'
        return False, None
    try:
        value = json.loads(text)
    except ValueError:
        return False, None
    if parameter_type == type_utils.LIST and isinstance(value, list):
        return True, value
    if parameter_type == type_utils.STRUCT and isinstance(value, dict):
        return True, value
    return False, None
