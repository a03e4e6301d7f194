"""A pipeline of Python components for the kfp SDK.

python3 pipeline.py (with the kfp SDK: pip install kfp) writes pipeline.yaml, what
`kubeline run pipeline.yaml` runs. Each @dsl.component is a plain Python function;
kubeline runs it on this machine with its builtin KFP executor (no pip install, no
container). log-metrics and version-output are kubeline's components (components/),
loaded with kfp.components.load_component_from_file.
"""
import os
from typing import NamedTuple

from kfp import compiler, components, dsl
from kfp.dsl import Dataset, Input, Model, Output

HERE = os.path.dirname(os.path.abspath(__file__))
log_metrics = components.load_component_from_file(os.path.join(HERE, 'components', 'log-metrics.yaml'))
version_output = components.load_component_from_file(os.path.join(HERE, 'components', 'version-output.yaml'))


@dsl.component(base_image='python:3.12-slim')
def make_data(rows: int, seed: int, data: Output[Dataset]):
    """Rows of y = 3x + 1 with a little noise (the same for the same seed)."""
    import random
    rnd = random.Random(seed)
    with open(data.path, 'w') as f:
        f.write('x,y\n')
        for i in range(rows):
            x = i / rows
            f.write(f'{x:.4f},{3 * x + 1 + rnd.gauss(0, 0.05):.4f}\n')
    data.metadata['rows'] = rows


@dsl.component(base_image='python:3.12-slim')
def train(data: Input[Dataset], lr: float, epochs: int, model: Output[Model]) -> float:
    """Fit y = a*x + b by gradient descent; the model is {"a": A, "b": B}; returns the last loss."""
    import json
    with open(data.path) as f:
        rows = [tuple(map(float, line.split(','))) for line in f.read().splitlines()[1:]]
    a = b = 0.0
    loss = 0.0
    for _ in range(epochs):
        ga = sum(2 * (a * x + b - y) * x for x, y in rows) / len(rows)
        gb = sum(2 * (a * x + b - y) for x, y in rows) / len(rows)
        a, b = a - lr * ga, b - lr * gb
        loss = sum((a * x + b - y) ** 2 for x, y in rows) / len(rows)
    with open(model.path, 'w') as f:
        json.dump({'a': round(a, 6), 'b': round(b, 6)}, f)
    model.metadata['framework'] = 'python'
    print(f'a={a:.4f} b={b:.4f} loss={loss:.6f}')
    return round(loss, 6)


@dsl.component(base_image='python:3.12-slim')
def evaluate(data: Input[Dataset], model: Input[Model]) -> NamedTuple('Scores', [('mse', float), ('r2', float)]):
    """The model's mean squared error and R² on the data."""
    import json
    from collections import namedtuple
    with open(model.path) as f:
        m = json.load(f)
    with open(data.path) as f:
        rows = [tuple(map(float, line.split(','))) for line in f.read().splitlines()[1:]]
    mean = sum(y for _, y in rows) / len(rows)
    se = sum((m['a'] * x + m['b'] - y) ** 2 for x, y in rows)
    st = sum((y - mean) ** 2 for _, y in rows)
    return namedtuple('Scores', ['mse', 'r2'])(round(se / len(rows), 6), round(1 - se / st, 6))


@dsl.pipeline(name='python-components', description='Make data, train a line, evaluate it; '
              'log its metrics and make the model the next version of py-line.')
def python_components(rows: int = 40, lr: float = 0.5, epochs: int = 200):
    made = make_data(rows=rows, seed=7)
    trained = train(data=made.outputs['data'], lr=lr, epochs=epochs)
    scores = evaluate(data=made.outputs['data'], model=trained.outputs['model'])
    log_metrics(metrics={'mse': scores.outputs['mse'], 'r2': scores.outputs['r2'], 'train_loss': trained.outputs['Output']})
    version_output(data=trained.outputs['model'], kind='model', name='py-line')


if __name__ == '__main__':
    compiler.Compiler().compile(python_components, os.path.join(HERE, 'pipeline.yaml'))
