"""Input/output annotations, as in kfp.dsl.types.type_annotations (2.x)."""

from typing import Any, List, Type, TypeVar, Union

from kfp.dsl.types import artifact_types
from kfp.dsl.types import type_utils
from kfp.dsl.types.type_utils import get_short_type_name  # noqa: F401


class OutputPath:
    """Annotates a parameter that receives the local path an output
    (parameter or artifact) is to be written to."""

    def __init__(self, type=None):
        self.type = construct_type_for_inputpath_or_outputpath(type)

    def __eq__(self, other):
        return isinstance(other, OutputPath) and self.type == other.type

    def __hash__(self):
        return hash(('OutputPath', str(self.type)))

    def __repr__(self):
        return f'OutputPath({self.type!r})'


class InputPath:
    """Annotates a parameter that receives the local path of an input
    artifact."""

    def __init__(self, type=None):
        self.type = construct_type_for_inputpath_or_outputpath(type)

    def __eq__(self, other):
        return isinstance(other, InputPath) and self.type == other.type

    def __hash__(self):
        return hash(('InputPath', str(self.type)))

    def __repr__(self):
        return f'InputPath({self.type!r})'


def construct_type_for_inputpath_or_outputpath(type_: Any) -> Any:
    """KFP's mapping of an InputPath/OutputPath argument: an artifact class
    or artifact type name becomes '<schema_title>@<version>', a parameter
    type stays as given, anything else is a generic artifact."""
    if is_artifact_class(type_):
        return type_utils.create_bundled_artifact_type(type_.schema_title,
                                                       type_.schema_version)
    if isinstance(
            type_,
            str) and type_.lower() in type_utils._ARTIFACT_CLASSES_MAPPING:
        return type_utils.create_bundled_artifact_type(
            type_utils._ARTIFACT_CLASSES_MAPPING[type_.lower()].schema_title)
    if type_utils.get_parameter_type(type_):
        return type_
    return type_utils.create_bundled_artifact_type(
        artifact_types.Artifact.schema_title)


class InputAnnotation:
    """Marker of Input[T]."""


class OutputAnnotation:
    """Marker of Output[T]."""


class EmbeddedAnnotation:
    """Marker of EmbeddedInput[T]: an input bound at run time to the asset
    embedded in the component source."""


def _first_metadata(typ) -> Any:
    metadata = getattr(typ, '__metadata__', None)
    if not metadata:
        return None
    return metadata[0]


def is_Input_Output_artifact_annotation(typ) -> bool:
    return _first_metadata(typ) in (InputAnnotation, OutputAnnotation)


def is_input_artifact(typ) -> bool:
    return _first_metadata(typ) is InputAnnotation


def is_output_artifact(typ) -> bool:
    return _first_metadata(typ) is OutputAnnotation


is_artifact_wrapped_in_Input = is_input_artifact
is_artifact_wrapped_in_Output = is_output_artifact


def is_embedded_input_annotation(typ) -> bool:
    return _first_metadata(typ) is EmbeddedAnnotation


def strip_Input_or_Output_marker(typ) -> Any:
    """Input[T], Output[T] or EmbeddedInput[T] -> T."""
    if _first_metadata(typ) in (InputAnnotation, OutputAnnotation,
                                EmbeddedAnnotation):
        return typ.__origin__
    return typ


def get_io_artifact_class(typ):
    """The artifact class of Input[T]/Output[T] (T's element for lists)."""
    if not is_Input_Output_artifact_annotation(typ):
        return None
    inner = typ.__origin__
    if is_generic_list(inner):
        return get_inner_type(inner)
    return inner


def get_io_artifact_annotation(typ):
    if not is_Input_Output_artifact_annotation(typ):
        return None
    return typ.__metadata__[0]


T = TypeVar('T')


def maybe_strip_optional_from_annotation(annotation: T) -> T:
    """Optional[X] (Union[X, None], or X | None) -> X; other types as is."""
    args = getattr(annotation, '__args__', None)
    origin = getattr(annotation, '__origin__', None)
    is_union = origin is Union or type(annotation).__name__ == 'UnionType'
    if is_union and args and len(args) == 2 and type(None) in args:
        return args[0] if args[1] is type(None) else args[1]
    return annotation


def maybe_strip_optional_from_annotation_string(annotation: str) -> str:
    if annotation.startswith('Optional[') and annotation.endswith(']'):
        return annotation[len('Optional['):-1]
    return annotation


def is_artifact_class(artifact_class_or_instance: Any) -> bool:
    return hasattr(artifact_class_or_instance, 'schema_title') and hasattr(
        artifact_class_or_instance, 'schema_version')


def is_list_of_artifacts(annotation: Any) -> bool:
    """List[Artifact], List[Dataset], ... (typing or builtin generics)."""
    return is_generic_list(annotation) and issubclass_of_artifact(
        get_inner_type(annotation))


def get_inner_type(annotation: Any) -> Any:
    """The argument of a generic (a tuple when there are several)."""
    args = getattr(annotation, '__args__', None)
    if args is None:
        return None
    if len(args) == 1:
        return args[0]
    return tuple(args)


def issubclass_of_artifact(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, artifact_types.Artifact)


def is_generic_list(annotation: Any) -> bool:
    origin = getattr(annotation, '__origin__', None)
    return annotation is list or annotation is List or origin is list or origin is List
