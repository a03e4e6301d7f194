"""TaskConfig, as in kfp.dsl.task_config: the Kubernetes configuration of
the running task, when the backend passes it as an input parameter."""

import dataclasses
from typing import Any, Dict, List, Optional


@dataclasses.dataclass
class TaskConfig:
    affinity: Optional[Dict[str, Any]] = None
    tolerations: Optional[List[Dict[str, Any]]] = None
    node_selector: Optional[Dict[str, str]] = None
    env: Optional[List[Dict[str, Any]]] = None
    volumes: Optional[List[Dict[str, Any]]] = None
    volume_mounts: Optional[List[Dict[str, Any]]] = None
    resources: Optional[Dict[str, Any]] = None
