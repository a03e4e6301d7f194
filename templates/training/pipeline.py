"""A training pipeline with dataset and model versions, written with the kfp SDK.

python3 pipeline.py writes pipeline.yaml (what `kubeline run pipeline.yaml` runs).
The steps are container components (sh and awk, on this machine with the embedded
engine); version-output and log-metrics are kubeline's components (components/).
"""
import os

from kfp import compiler, components, dsl
from kfp.dsl import Dataset, Input, Model, Output, OutputPath

HERE = os.path.dirname(os.path.abspath(__file__))
version_output = components.load_component_from_file(os.path.join(HERE, 'components', 'version-output.yaml'))
log_metrics = components.load_component_from_file(os.path.join(HERE, 'components', 'log-metrics.yaml'))


@dsl.container_component
def clean(raw: Input[Dataset], cleaned: Output[Dataset]):
    """Keep the header and the rows whose x and y are numbers."""
    return dsl.ContainerSpec(image='alpine:3.20', command=['sh', '-ec'], args=[
        'mkdir -p "$(dirname "$1")"\n'
        'awk -F, \'NR == 1 || ($1 ~ /^-?[0-9.]+$/ && $2 ~ /^-?[0-9.]+$/)\' "$0" > "$1"\n'
        'echo "kept $(($(wc -l < "$1") - 1)) of $(($(wc -l < "$0") - 1)) rows"',
        raw.path, cleaned.path])


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


@dsl.pipeline(name='training', description='Clean a dataset version (the clean rows become a version of rows-clean), '
              'train a line on it (the model becomes a version of linear), evaluate and log the metrics.')
def training(data: str = 'dataset://rows@latest', lr: float = 0.02, epochs: int = 10):
    raw = dsl.importer(artifact_uri=data, artifact_class=Dataset)
    cleaned = clean(raw=raw.output)
    version_output(data=cleaned.outputs['cleaned'], kind='dataset', name='rows-clean')
    trained = train(data=cleaned.outputs['cleaned'], lr=lr, epochs=epochs)
    version_output(data=trained.outputs['model'], kind='model', name='linear')
    scored = evaluate(data=cleaned.outputs['cleaned'], model=trained.outputs['model'])
    log_metrics(metrics={'mse': scored.outputs['mse']})


if __name__ == '__main__':
    compiler.Compiler().compile(training, os.path.join(HERE, 'pipeline.yaml'))
