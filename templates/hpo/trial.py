"""The trial pipeline of experiment.yaml, written with the kfp SDK.

python3 trial.py writes trial.yaml. Each trial makes the same data, trains a line
with the trial's lr and epochs, evaluates it and logs its mse with kubeline's
log-metrics component (components/), which is where the experiment reads its
objective: a system.Metrics output's metadata.
"""
import os

from kfp import compiler, components, dsl
from kfp.dsl import Dataset, Input, Model, Output, OutputPath

HERE = os.path.dirname(os.path.abspath(__file__))
log_metrics = components.load_component_from_file(os.path.join(HERE, 'components', 'log-metrics.yaml'))


@dsl.container_component
def make_data(rows: int, data: Output[Dataset]):
    """rows points of y = 2x + a small wave, the same every time."""
    return dsl.ContainerSpec(image='alpine:3.20', command=['sh', '-ec'], args=[
        'mkdir -p "$(dirname "$1")"\n'
        'awk -v n="$0" \'BEGIN { print "x,y"; for (i = 0; i < n; i++) { x = i / 10; printf "%.2f,%.4f\\n", x, 2 * x + 0.1 * sin(7 * i) } }\' > "$1"',
        rows, data.path])


@dsl.container_component
def train(data: Input[Dataset], lr: float, epochs: int, model: Output[Model]):
    """Fit y = w*x by gradient descent; print each epoch's loss; the model is "weights W"."""
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
        'awk -F, -v w="$w" \'NR > 1 { d = w * $1 - $2; s += d * d; n++ } END { printf "%.6f", s / n }\' "$0" > "$2"',
        data.path, model.path, mse])


@dsl.pipeline(name='trial', description='Make data, train a line with lr and epochs, evaluate it, log its mse.')
def trial(lr: float = 0.01, epochs: int = 10, rows: int = 20):
    made = make_data(rows=rows)
    trained = train(data=made.outputs['data'], lr=lr, epochs=epochs)
    scored = evaluate(data=made.outputs['data'], model=trained.outputs['model'])
    log_metrics(metrics={'mse': scored.outputs['mse']})


if __name__ == '__main__':
    compiler.Compiler().compile(trial, os.path.join(HERE, 'trial.yaml'))
