"""Artifact classes, with the semantics of kfp.dsl.types.artifact_types (2.x).

An artifact has a name, a uri and a metadata dict. ``path`` is the local
path of the uri: a uri kubeline's launcher gave a local path of (the step's
artifacts: set_local_paths) maps to it, gs://, s3:// and minio:// map to
the /gcs/, /s3/ and /minio/ mounts as in KFP, file:// is stripped, and
anything else is the path itself. So a step's artifacts have the uri where
they are stored (as on KFP) and the path where the step reads and writes
them. Setting ``path`` sets the uri back; ``set_path(p)`` (KFP 2.14+) sets
``custom_path`` instead.
"""

import os
from typing import Dict, List, Optional, Type
import warnings

_GCS_LOCAL_MOUNT_PREFIX = '/gcs/'
_MINIO_LOCAL_MOUNT_PREFIX = '/minio/'
_S3_LOCAL_MOUNT_PREFIX = '/s3/'

GCS_REMOTE_PREFIX = 'gs://'
MINIO_REMOTE_PREFIX = 'minio://'
S3_REMOTE_PREFIX = 's3://'
FILE_PREFIX = 'file://'


# The step's artifacts: local path by uri, and back (set_local_paths).
_LOCAL_PATHS: Dict[str, str] = {}
_URIS: Dict[str, str] = {}


def set_local_paths(paths: Dict[str, str]) -> None:
    """Gives the local path of each uri: kubeline's launcher fetched the
    step's input artifacts and takes its output artifacts from there."""
    _LOCAL_PATHS.clear()
    _URIS.clear()
    for uri, path in sorted(paths.items()):
        _LOCAL_PATHS[uri] = path
        _URIS.setdefault(path, uri)


def _remote_to_local(uri: str) -> str:
    if uri in _LOCAL_PATHS:
        return _LOCAL_PATHS[uri]
    # Module-level prefixes are read at call time so that they can be
    # patched (KFP's own tests do that).
    if uri.startswith(GCS_REMOTE_PREFIX):
        return _GCS_LOCAL_MOUNT_PREFIX + uri[len(GCS_REMOTE_PREFIX):]
    if uri.startswith(MINIO_REMOTE_PREFIX):
        return _MINIO_LOCAL_MOUNT_PREFIX + uri[len(MINIO_REMOTE_PREFIX):]
    if uri.startswith(S3_REMOTE_PREFIX):
        return _S3_LOCAL_MOUNT_PREFIX + uri[len(S3_REMOTE_PREFIX):]
    if uri.startswith(FILE_PREFIX):
        return uri[len(FILE_PREFIX):]
    return uri


def convert_local_path_to_remote_path(path: str) -> str:
    """Maps a local mount path back to its remote uri (KFP's rule); a local
    path of one of the step's artifacts to its uri."""
    if path in _URIS:
        return _URIS[path]
    if path.startswith(_GCS_LOCAL_MOUNT_PREFIX):
        return GCS_REMOTE_PREFIX + path[len(_GCS_LOCAL_MOUNT_PREFIX):]
    if path.startswith(_MINIO_LOCAL_MOUNT_PREFIX):
        return MINIO_REMOTE_PREFIX + path[len(_MINIO_LOCAL_MOUNT_PREFIX):]
    if path.startswith(_S3_LOCAL_MOUNT_PREFIX):
        return S3_REMOTE_PREFIX + path[len(_S3_LOCAL_MOUNT_PREFIX):]
    return path


class Artifact:
    """A generic machine learning artifact: name, uri and metadata."""
    schema_title = 'system.Artifact'
    schema_version = '0.0.1'

    def __init__(self,
                 name: Optional[str] = None,
                 uri: Optional[str] = None,
                 metadata: Optional[Dict] = None) -> None:
        self.uri = uri or ''
        self.name = name or ''
        self.metadata = metadata or {}
        # Where an output artifact's content actually is, when the component
        # put it elsewhere than .path (see set_path).
        self.custom_path: Optional[str] = None

    @property
    def path(self) -> str:
        return self._get_path()

    @path.setter
    def path(self, path: str) -> None:
        self._set_path(path)

    def set_path(self, path: str) -> None:
        """Declares that the output artifact's content is at ``path`` (for
        example on a mounted volume) rather than at the path of its uri:
        ``path`` and ``custom_path`` become ``path``; the uri is unchanged.
        The content is copied to the uri's path after the component returns
        (KFP's launcher uploads it from there)."""
        self.custom_path = path

    def _get_path(self) -> str:
        if getattr(self, 'custom_path', None):
            return self.custom_path
        return _remote_to_local(self.uri)

    def _set_path(self, path: str) -> None:
        self.uri = convert_local_path_to_remote_path(path)


class Model(Artifact):
    """A machine learning model."""
    schema_title = 'system.Model'

    @property
    def framework(self) -> str:
        return self._get_framework()

    @framework.setter
    def framework(self, framework: str) -> None:
        self._set_framework(framework)

    def _get_framework(self) -> str:
        return self.metadata.get('framework', '')

    def _set_framework(self, framework: str) -> None:
        self.metadata['framework'] = framework


class Dataset(Artifact):
    """A machine learning dataset."""
    schema_title = 'system.Dataset'


class Metrics(Artifact):
    """Key-value scalar metrics, kept in the metadata."""
    schema_title = 'system.Metrics'

    def log_metric(self, metric: str, value: float) -> None:
        """Sets the scalar metric ``metric`` to ``value`` in the metadata."""
        self.metadata[metric] = value


class ClassificationMetrics(Artifact):
    """Classification metrics: ROC curve and confusion matrix, in the
    metadata (keys confidenceMetrics and confusionMatrix)."""
    schema_title = 'system.ClassificationMetrics'

    def log_roc_data_point(self, fpr: float, tpr: float,
                           threshold: float) -> None:
        """Appends one point of the ROC curve."""
        reading = {
            'confidenceThreshold': threshold,
            'recall': tpr,
            'falsePositiveRate': fpr,
        }
        self.metadata.setdefault('confidenceMetrics', []).append(reading)

    def log_roc_curve(self, fpr: List[float], tpr: List[float],
                      threshold: List[float]) -> None:
        """Logs an ROC curve given as three lists of the same length."""
        if len(fpr) != len(tpr) or len(fpr) != len(threshold) or len(
                tpr) != len(threshold):
            raise ValueError(
                'Length of fpr, tpr and threshold must be the same. Got '
                f'lengths {len(fpr)}, {len(tpr)} and {len(threshold)} '
                'respectively.')
        for i in range(len(fpr)):
            self.log_roc_data_point(
                fpr=fpr[i], tpr=tpr[i], threshold=threshold[i])

    def set_confusion_matrix_categories(self, categories: List[str]) -> None:
        """Starts an all-zero confusion matrix over ``categories``."""
        self._categories = list(categories)
        self._matrix = [{
            'row': [0] * len(self._categories)
        } for _ in self._categories]
        self._confusion_matrix = {
            'annotationSpecs': [{
                'displayName': c
            } for c in self._categories],
            'rows': self._matrix,
        }
        self.metadata['confusionMatrix'] = self._confusion_matrix

    def _check_categories_set(self) -> None:
        if not hasattr(self, '_categories'):
            raise ValueError(
                'Confusion matrix categories are not set: call '
                'set_confusion_matrix_categories or log_confusion_matrix first.'
            )

    def log_confusion_matrix_row(self, row_category: str,
                                 row: List[float]) -> None:
        """Sets the row of ``row_category``."""
        self._check_categories_set()
        if row_category not in self._categories:
            raise ValueError(f'Invalid category: {row_category} passed. '
                             f'Expected one of: {self._categories}')
        if len(row) != len(self._categories):
            raise ValueError(f'Invalid row. Expected size: '
                             f'{len(self._categories)} got: {len(row)}')
        self._matrix[self._categories.index(row_category)] = {'row': row}
        self.metadata['confusionMatrix'] = self._confusion_matrix

    def log_confusion_matrix_cell(self, row_category: str, col_category: str,
                                  value: int) -> None:
        """Sets one cell of the confusion matrix."""
        self._check_categories_set()
        for category in (row_category, col_category):
            if category not in self._categories:
                raise ValueError(f'Invalid category: {category} passed. '
                                 f'Expected one of: {self._categories}')
        self._matrix[self._categories.index(row_category)]['row'][
            self._categories.index(col_category)] = value
        self.metadata['confusionMatrix'] = self._confusion_matrix

    def log_confusion_matrix(self, categories: List[str],
                             matrix: List[List[int]]) -> None:
        """Logs a whole square confusion matrix over ``categories``."""
        self.set_confusion_matrix_categories(categories)
        if len(matrix) != len(categories):
            raise ValueError(
                f'Invalid matrix: {matrix} passed for categories: {categories}')
        for index in range(len(categories)):
            if len(matrix[index]) != len(categories):
                raise ValueError(f'Invalid matrix: {matrix} passed for '
                                 f'categories: {categories}')
            self.log_confusion_matrix_row(categories[index], matrix[index])
        self.metadata['confusionMatrix'] = self._confusion_matrix


class SlicedClassificationMetrics(Artifact):
    """Classification metrics per slice, in metadata['evaluationSlices']."""
    schema_title = 'system.SlicedClassificationMetrics'

    def _slice_metrics(self, slice: str) -> ClassificationMetrics:
        sliced = self.__dict__.setdefault('_sliced_metrics', {})
        if slice not in sliced:
            sliced[slice] = ClassificationMetrics()
        return sliced[slice]

    def _update_metadata(self) -> None:
        self.metadata = {
            'evaluationSlices': [{
                'slice': s,
                'sliceClassificationMetrics': m.metadata,
            } for s, m in self._sliced_metrics.items()]
        }

    def log_roc_reading(self, slice: str, threshold: float, tpr: float,
                        fpr: float) -> None:
        """Logs one ROC point of a slice."""
        self._slice_metrics(slice).log_roc_data_point(
            fpr=fpr, tpr=tpr, threshold=threshold)
        self._update_metadata()

    def load_roc_readings(self, slice: str,
                          readings: List[List[float]]) -> None:
        """Logs ROC points of a slice, each [threshold, tpr, fpr]."""
        metrics = self._slice_metrics(slice)
        for threshold, tpr, fpr in readings:
            metrics.log_roc_data_point(fpr=fpr, tpr=tpr, threshold=threshold)
        self._update_metadata()

    def set_confusion_matrix_categories(self, slice: str,
                                        categories: List[str]) -> None:
        self._slice_metrics(slice).set_confusion_matrix_categories(categories)
        self._update_metadata()

    def log_confusion_matrix_row(self, slice: str, row_category: str,
                                 row: List[int]) -> None:
        self._slice_metrics(slice).log_confusion_matrix_row(row_category, row)
        self._update_metadata()

    def log_confusion_matrix_cell(self, slice: str, row_category: str,
                                  col_category: str, value: int) -> None:
        self._slice_metrics(slice).log_confusion_matrix_cell(
            row_category, col_category, value)
        self._update_metadata()

    def load_confusion_matrix(self, slice: str, categories: List[str],
                              matrix: List[List[int]]) -> None:
        self._slice_metrics(slice).log_confusion_matrix(categories, matrix)
        self._update_metadata()


class HTML(Artifact):
    """An HTML file."""
    schema_title = 'system.HTML'


class Markdown(Artifact):
    """A markdown file."""
    schema_title = 'system.Markdown'


_SCHEMA_TITLE_TO_TYPE: Dict[str, Type[Artifact]] = {
    x.schema_title: x for x in [
        Artifact,
        Model,
        Dataset,
        Metrics,
        ClassificationMetrics,
        SlicedClassificationMetrics,
        HTML,
        Markdown,
    ]
}

# The directory of executor_output.json, set by the executor at run time.
CONTAINER_TASK_ROOT: Optional[str] = None


def get_uri(suffix: str = 'Output') -> str:
    """Returns a uri unique to the running task: the task root (the
    directory of executor_output.json, as a remote uri when it is a bucket
    mount) joined with ``suffix``. Only callable at task run time."""
    if CONTAINER_TASK_ROOT is None:
        raise RuntimeError(
            f"'dsl.{get_uri.__name__}' can only be called at task runtime. "
            'The task root is unknown in the current environment.')
    if CONTAINER_TASK_ROOT == '/tmp/kfp_outputs':
        warnings.warn(
            f'dsl.{get_uri.__name__} is not yet supported by the KFP backend. '
            'Please specify a URI explicitly.',
            RuntimeWarning,
            stacklevel=2,
        )
        return ''
    return os.path.join(
        convert_local_path_to_remote_path(CONTAINER_TASK_ROOT), suffix)
