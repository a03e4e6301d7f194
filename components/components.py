"""kubeline's reusable KFP components, written with the kfp SDK.

Each is a container component whose command is `kubeline step ...` in
kubeline's image (on the embedded engine, this machine's kubeline).
`python3 components/components.py` (with the kfp SDK importable) writes each
one's KFP v2 YAML beside this file; cmd/kubeline's TestComponentsFromSDK
checks the YAML files are what it writes, and templates/ load them with
kfp.components.load_component_from_file.
"""
import os
import sys

from kfp import compiler, dsl
from kfp.dsl import Artifact, Input, Metrics, Model, Output, OutputPath

IMAGE = 'ghcr.io/kubeline/kubeline:latest'
EXECUTOR_OUTPUT = dsl.PIPELINE_TASK_EXECUTOR_OUTPUT_PATH_PLACEHOLDER


@dsl.container_component
def version_output(data: Input[Artifact], name: str, versioned: Output[Artifact], kind: str = 'dataset'):
    """Pass an artifact on as the output that becomes the next version of dataset or model NAME when the run succeeds."""
    return dsl.ContainerSpec(
        image=IMAGE,
        command=['kubeline', 'step', 'version'],
        args=['--kind', kind, '--name', name, '--from', data.path, '--to', versioned.path,
              '--output', 'versioned', '--executor-output', EXECUTOR_OUTPUT])


@dsl.container_component
def log_metrics(metrics: dict, logged: Output[Metrics]):
    """Log metrics (an object of numbers, e.g. {'accuracy': task.output}) as a system.Metrics output, recorded with the run."""
    return dsl.ContainerSpec(
        image=IMAGE,
        command=['kubeline', 'step', 'metrics'],
        args=['--metrics', metrics, '--to', logged.path, '--output', 'logged', '--executor-output', EXECUTOR_OUTPUT])


@dsl.container_component
def publish_model(model: Input[Model], name: str, version: OutputPath(str)):
    """Make the model the next version of model NAME (or find the one with the same content) and publish it to the catalog."""
    return dsl.ContainerSpec(
        image=IMAGE,
        command=['kubeline', 'step', 'publish'],
        args=['--name', name, '--from', model.path, '--version-file', version])


@dsl.container_component
def compare_deployed(model: str, metric: str, value: float, better: OutputPath(bool), baseline: OutputPath(str),
                     deployment: str = '', direction: str = 'maximize'):
    """Compare a candidate's metric with the deployed version's (DEPLOYMENT's on the server, else MODEL's latest in the catalog)."""
    return dsl.ContainerSpec(
        image=IMAGE,
        command=['kubeline', 'step', 'compare'],
        args=['--model', model, '--metric', metric, '--value', value, '--deployment', deployment,
              '--direction', direction, '--better-file', better, '--baseline-file', baseline])


@dsl.container_component
def gate_on_metric(metric: str, value: float, threshold: float, passed: OutputPath(bool), direction: str = 'maximize'):
    """Gate a deployment on a metric: passed is true when the value meets the threshold (at least, or at most to minimize)."""
    return dsl.ContainerSpec(
        image=IMAGE,
        command=['kubeline', 'step', 'gate'],
        args=['--metric', metric, '--value', value, '--threshold', threshold, '--direction', direction,
              '--passed-file', passed])


COMPONENTS = {
    'version-output': version_output,
    'log-metrics': log_metrics,
    'publish-model': publish_model,
    'compare-deployed': compare_deployed,
    'gate-on-metric': gate_on_metric,
}

if __name__ == '__main__':
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for name, component in COMPONENTS.items():
        compiler.Compiler().compile(component, os.path.join(out, name + '.yaml'))
