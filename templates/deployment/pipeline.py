"""Train a model, compare it with the deployed one, gate it on a metric and publish it.

python3 pipeline.py (with the kfp SDK) writes pipeline.yaml. train and evaluate are
container components (sh and awk); version-output, log-metrics, compare-deployed,
gate-on-metric and publish-model are kubeline's components (components/).
"""
import os

from kfp import compiler, components, dsl
from kfp.dsl import Dataset, Input, Model, Output, OutputPath

HERE = os.path.dirname(os.path.abspath(__file__))


def component(name):
    return components.load_component_from_file(os.path.join(HERE, 'components', name + '.yaml'))


version_output = component('version-output')
log_metrics = component('log-metrics')
compare_deployed = component('compare-deployed')
gate_on_metric = component('gate-on-metric')
publish_model = component('publish-model')


@dsl.container_component
def train(data: Input[Dataset], lr: float, epochs: int, model: Output[Model]):
    """Fit y = w*x by gradient descent; the model is the line "weights W"."""
    return dsl.ContainerSpec(image='alpine:3.20', command=['sh', '-ec'], args=[
        'mkdir -p "$(dirname "$3")"\n'
        'awk -F, -v lr="$1" -v epochs="$2" \'NR > 1 { x[n] = $1; y[n] = $2; n++ }\n'
        '  END { for (e = 1; e <= epochs; e++) { g = 0; for (i = 0; i < n; i++) g += 2 * (w * x[i] - y[i]) * x[i]; w -= lr * g / n }\n'
        '        printf "weights %.6f\\n", w }\' "$0" > "$3"\n'
        'cat "$3"',
        data.path, lr, epochs, model.path])


@dsl.container_component
def evaluate(data: Input[Dataset], model: Input[Model], mse: OutputPath(float)):
    """The model's mean squared error on the data."""
    return dsl.ContainerSpec(image='alpine:3.20', command=['sh', '-ec'], args=[
        'w=$(awk \'$1 == "weights" { print $2 }\' "$1")\n'
        'mkdir -p "$(dirname "$2")"\n'
        'awk -F, -v w="$w" \'NR > 1 { d = w * $1 - $2; s += d * d; n++ } END { printf "%.6f", s / n }\' "$0" > "$2"\n'
        'echo "mse $(cat "$2")"',
        data.path, model.path, mse])


@dsl.pipeline(name='train-and-publish', description='Train a line, compare its mse with the deployed model version\'s, '
              'gate it on max_mse, and publish it to the catalog when it is better and good enough.')
def train_and_publish(data: str = 'dataset://rows@latest', lr: float = 0.05, epochs: int = 10,
                      max_mse: float = 0.1, deployment: str = ''):
    raw = dsl.importer(artifact_uri=data, artifact_class=Dataset)
    trained = train(data=raw.output, lr=lr, epochs=epochs)
    version_output(data=trained.outputs['model'], kind='model', name='linear')
    scored = evaluate(data=raw.output, model=trained.outputs['model'])
    log_metrics(metrics={'mse': scored.outputs['mse']})
    compared = compare_deployed(model='linear', metric='mse', value=scored.outputs['mse'], deployment=deployment,
                                direction='minimize')
    gate = gate_on_metric(metric='mse', value=scored.outputs['mse'], threshold=max_mse, direction='minimize')
    with dsl.If(compared.outputs['better'] == True):  # noqa: E712 (a pipeline condition, not Python's)
        with dsl.If(gate.outputs['passed'] == True):  # noqa: E712
            publish_model(model=trained.outputs['model'], name='linear')


if __name__ == '__main__':
    compiler.Compiler().compile(train_and_publish, os.path.join(HERE, 'pipeline.yaml'))
