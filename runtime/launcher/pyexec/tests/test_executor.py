"""Tests of kubeline's builtin KFP executor (runtime/launcher/pyexec/kfp).

Run from the repository root:

    python3 -m unittest discover -s runtime/launcher/pyexec/tests

Each test writes a component source the way the kfp SDK does (the
"import kfp / from kfp import dsl / from kfp.dsl import * / from typing
import *" header, then the function; most are taken from the KFP corpus),
runs `python3 -m kfp.dsl.executor_main` on it in a subprocess exactly as
kubeline does, and checks executor_output.json, the files and the output.
Standard library only; no bytecode is written into the package tree.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
PYEXEC = os.path.dirname(HERE)

HEADER = ('\nimport kfp\nfrom kfp import dsl\nfrom kfp.dsl import *\n'
          'from typing import *\n\n')


def tearDownModule():
    # unittest's import of this module may have cached its bytecode.
    shutil.rmtree(os.path.join(HERE, '__pycache__'), ignore_errors=True)


class ExecutorTest(unittest.TestCase):

    def setUp(self):
        self.maxDiff = None
        self.dir = tempfile.mkdtemp(prefix='pyexec-test-')
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.output_file = os.path.join(self.dir, 'task', 'executor_output.json')

    # ---- helpers -------------------------------------------------------

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, path, content):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(content)

    def read(self, path):
        with open(path) as f:
            return f.read()

    def artifact(self, name, schema_title, path, metadata=None):
        return {
            'name': name,
            'type': {
                'schemaTitle': schema_title,
                'schemaVersion': '0.0.1'
            },
            'uri': path,
            'metadata': metadata or {},
        }

    def executor_input(self,
                       params=None,
                       in_artifacts=None,
                       out_params=(),
                       out_artifacts=None):
        """in_artifacts: {name: [runtime artifact, ...]};
        out_artifacts: {name: schema_title}."""
        return {
            'inputs': {
                'parameterValues': params or {},
                'artifacts': {
                    name: {
                        'artifacts': arts
                    } for name, arts in (in_artifacts or {}).items()
                },
            },
            'outputs': {
                'parameters': {
                    name: {
                        'outputFile': self.path('task', 'params', name)
                    } for name in out_params
                },
                'artifacts': {
                    name: {
                        'artifacts': [
                            self.artifact(name, title,
                                          self.path('task', 'artifacts', name))
                        ]
                    } for name, title in (out_artifacts or {}).items()
                },
                'outputFile': self.output_file,
            },
        }

    def run_component(self, source, function, executor_input, expect_ok=True):
        """Runs the component as kubeline does; returns (returncode,
        stdout, stderr, executor_output or None)."""
        if os.path.exists(self.output_file):
            os.remove(self.output_file)
        src_dir = self.path('src-' + function)
        os.makedirs(src_dir, exist_ok=True)
        module = os.path.join(src_dir, 'ephemeral_component.py')
        with open(module, 'w') as f:
            f.write(HEADER + textwrap.dedent(source).lstrip('\n'))
        env = dict(os.environ)
        env.pop('CLUSTER_SPEC', None)
        env['PYTHONPATH'] = os.pathsep.join(
            p for p in [PYEXEC, os.environ.get('PYTHONPATH')] if p)
        env['_KFP_RUNTIME'] = 'true'
        env['PYTHONDONTWRITEBYTECODE'] = '1'
        proc = subprocess.run(
            [
                sys.executable, '-m', 'kfp.dsl.executor_main',
                '--component_module_path', module, '--executor_input',
                json.dumps(executor_input), '--function_to_execute', function
            ],
            env=env,
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=30,
        )
        output = None
        if os.path.exists(self.output_file):
            output = json.loads(self.read(self.output_file))
        if expect_ok:
            self.assertEqual(proc.returncode, 0,
                             f'stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}')
            self.assertIn(f'kubeline builtin KFP executor running {function}',
                          proc.stderr)
        return proc.returncode, proc.stdout, proc.stderr, output

    # ---- parameters ----------------------------------------------------

    def test_add_numbers_int_conversion(self):
        source = '''
            def add_numbers(a: int, b: int) -> int:
                print(f'{a} + {b} ({type(a).__name__}, {type(b).__name__})')
                return a + b
        '''
        _, stdout, _, out = self.run_component(
            source, 'add_numbers',
            self.executor_input({
                'a': 1,
                'b': 2.0
            }, out_params=['Output']))
        self.assertEqual(out, {'parameterValues': {'Output': 3}})
        self.assertEqual(json.dumps(out['parameterValues']['Output']), '3')
        # Only what the function prints reaches stdout.
        self.assertEqual(stdout, '1 + 2 (int, int)\n')

    def test_parameter_types_defaults_and_optional(self):
        source = '''
            def f(
                s: str,
                i: int,
                x: float,
                flag: bool,
                items: List[int],
                d: Dict[str, int],
                plain: list,
                j: dict,
                collected: List[int],
                nested: Dict[str, List[float]],
                opt: Optional[str] = None,
                with_default: str = 'default',
                n: int = 7,
            ) -> str:
                return repr([s, i, x, flag, items, d, plain, j, collected, nested,
                             opt, with_default, n])
        '''
        _, _, _, out = self.run_component(
            source, 'f',
            self.executor_input(
                {
                    's': 'hi',
                    'i': '4',
                    'x': 1.5,
                    'flag': 'true',
                    'items': [1, 2],
                    'd': '{"a": 1}',
                    'plain': ['a'],
                    'j': {
                        'k': [1, {
                            'z': None
                        }]
                    },
                    'collected': ['2', 4.0, '6'],
                    'nested': {
                        'a': ['1.5', 2]
                    },
                    'with_default': 'given',
                },
                out_params=['Output']))
        self.assertEqual(
            out['parameterValues']['Output'],
            repr([
                'hi', 4, 1.5, True, [1, 2], {
                    'a': 1
                }, ['a'], {
                    'k': [1, {
                        'z': None
                    }]
                }, [2, 4, 6], {
                    'a': [1.5, 2]
                }, None, 'given', 7
            ]))

    def test_returned_types(self):
        source = '''
            def lists() -> List[Dict[str, str]]:
                return [{'a': '1'}, {'b': '2'}]

            def flt() -> float:
                return 2

            def boolean() -> bool:
                return False

            def wrong() -> int:
                return 'not an int'
        '''
        _, _, _, out = self.run_component(
            source, 'lists', self.executor_input(out_params=['Output']))
        self.assertEqual(out, {
            'parameterValues': {
                'Output': [{
                    'a': '1'
                }, {
                    'b': '2'
                }]
            }
        })
        _, _, _, out = self.run_component(
            source, 'flt', self.executor_input(out_params=['Output']))
        self.assertEqual(out, {'parameterValues': {'Output': 2}})
        _, _, _, out = self.run_component(
            source, 'boolean', self.executor_input(out_params=['Output']))
        self.assertEqual(out, {'parameterValues': {'Output': False}})
        rc, _, stderr, out = self.run_component(
            source,
            'wrong',
            self.executor_input(out_params=['Output']),
            expect_ok=False)
        self.assertNotEqual(rc, 0)
        self.assertIsNone(out)
        self.assertIn('returned value of type', stderr)

    def test_named_tuple_parameters(self):
        # multiple_parameters_namedtuple
        source = '''
            def core_comp() -> NamedTuple('outputs', val1=str, val2=str):
                outputs = NamedTuple('outputs', val1=str, val2=str)
                return outputs('foo', 'bar')
        '''
        _, _, _, out = self.run_component(
            source, 'core_comp',
            self.executor_input(out_params=['val1', 'val2']))
        self.assertEqual(out,
                         {'parameterValues': {
                             'val1': 'foo',
                             'val2': 'bar'
                         }})

    def test_named_tuple_with_artifacts(self):
        # lightweight_python_functions_with_outputs: a plain tuple/namedtuple
        # whose artifact fields are payloads written to the artifacts.
        source = '''
            def output_named_tuple(
                artifact: Input[Dataset]
            ) -> NamedTuple('Outputs', [
                ('scalar', str),
                ('metrics', Metrics),
                ('model', Model),
            ]):
                scalar = '123'
                import json
                metrics = json.dumps({'metrics': [{'name': 'accuracy', 'numberValue': 0.9}]})
                with open(artifact.path) as f:
                    artifact_contents = f.read()
                model = 'Model contents: ' + artifact_contents
                from collections import namedtuple
                output = namedtuple('Outputs', ['scalar', 'metrics', 'model'])
                return output(scalar, metrics, model)
        '''
        data = self.path('in', 'dataset')
        self.write(data, 'abc')
        _, _, _, out = self.run_component(
            source, 'output_named_tuple',
            self.executor_input(
                in_artifacts={
                    'artifact': [self.artifact('ds', 'system.Dataset', data)]
                },
                out_params=['scalar'],
                out_artifacts={
                    'metrics': 'system.Metrics',
                    'model': 'system.Model'
                }))
        self.assertEqual(
            out, {
                'parameterValues': {
                    'scalar': '123'
                },
                'artifacts': {
                    'metrics': {
                        'artifacts': [{
                            'name': 'metrics',
                            'uri': self.path('task', 'artifacts', 'metrics'),
                            'metadata': {}
                        }]
                    },
                    'model': {
                        'artifacts': [{
                            'name': 'model',
                            'uri': self.path('task', 'artifacts', 'model'),
                            'metadata': {}
                        }]
                    },
                }
            })
        self.assertEqual(
            self.read(self.path('task', 'artifacts', 'model')),
            'Model contents: abc')
        self.assertIn('accuracy',
                      self.read(self.path('task', 'artifacts', 'metrics')))

    # ---- artifacts -----------------------------------------------------

    def test_output_dataset_then_input_dataset(self):
        # artifacts_simple / two_step_pipeline style producer and consumer.
        producer = '''
            def create_dataset(content: str, data: Output[Dataset]):
                import os
                assert os.path.isdir(os.path.dirname(data.path))
                with open(data.path, 'w') as f:
                    f.write(content)
                data.metadata['rows'] = 3
        '''
        uri = self.path('task', 'artifacts', 'data')
        _, _, _, out = self.run_component(
            producer, 'create_dataset',
            self.executor_input({'content': 'a,b\n1,2\n'},
                                out_artifacts={'data': 'system.Dataset'}))
        self.assertEqual(
            out, {
                'artifacts': {
                    'data': {
                        'artifacts': [{
                            'name': 'data',
                            'uri': uri,
                            'metadata': {
                                'rows': 3
                            }
                        }]
                    }
                }
            })
        self.assertEqual(self.read(uri), 'a,b\n1,2\n')

        consumer = '''
            def read_dataset(data: Input[Dataset]) -> str:
                assert isinstance(data, Dataset), type(data)
                with open(data.path) as f:
                    content = f.read()
                print(data.name, data.uri == data.path, data.metadata)
                return content
        '''
        _, stdout, _, out = self.run_component(
            consumer, 'read_dataset',
            self.executor_input(
                in_artifacts={
                    'data': [
                        self.artifact('data', 'system.Dataset', uri,
                                      {'rows': 3})
                    ]
                },
                out_params=['Output']))
        self.assertEqual(out, {'parameterValues': {'Output': 'a,b\n1,2\n'}})
        self.assertEqual(stdout, "data True {'rows': 3}\n")

    def test_uri_schemes(self):
        source = '''
            def paths(a: Input[Artifact], b: Input[Artifact], c: Input[Artifact],
                      d: Input[Artifact], e: Input[Model]) -> list:
                return [a.path, b.path, c.path, d.path, e.path, type(e).__name__]
        '''
        _, _, _, out = self.run_component(
            source, 'paths',
            self.executor_input(
                in_artifacts={
                    'a': [self.artifact('a', 'system.Artifact', 'gs://b/x')],
                    'b': [self.artifact('b', 'system.Artifact', 's3://b/x')],
                    'c': [self.artifact('c', 'system.Artifact', 'minio://b/x')],
                    'd': [
                        self.artifact('d', 'system.Artifact', 'file:///data/x')
                    ],
                    # schemaTitle decides the class
                    'e': [self.artifact('e', 'system.Model', '/local/x')],
                },
                out_params=['Output']))
        self.assertEqual(out['parameterValues']['Output'], [
            '/gcs/b/x', '/s3/b/x', '/minio/b/x', '/data/x', '/local/x', 'Model'
        ])

    def test_metrics(self):
        # metrics_visualization_v2, without sklearn.
        source = '''
            def metrics(metrics: Output[Metrics],
                        cm: Output[ClassificationMetrics],
                        markdown: Output[Markdown],
                        html: Output[HTML]):
                metrics.log_metric('accuracy', 97.5)
                metrics.log_metric('count', 3)
                cm.log_confusion_matrix(['a', 'b'], [[1, 2], [3, 4]])
                cm.log_roc_curve([0.0, 0.5], [0.1, 0.9], [1.0, 0.5])
                with open(markdown.path, 'w') as f:
                    f.write('## Hello')
                with open(html.path, 'w') as f:
                    f.write('<h1>Hello</h1>')
        '''
        _, _, _, out = self.run_component(
            source, 'metrics',
            self.executor_input(
                out_artifacts={
                    'metrics': 'system.Metrics',
                    'cm': 'system.ClassificationMetrics',
                    'markdown': 'system.Markdown',
                    'html': 'system.HTML',
                }))
        arts = {k: v['artifacts'][0] for k, v in out['artifacts'].items()}
        self.assertEqual(arts['metrics']['metadata'], {
            'accuracy': 97.5,
            'count': 3
        })
        self.assertEqual(
            arts['cm']['metadata'], {
                'confusionMatrix': {
                    'annotationSpecs': [{
                        'displayName': 'a'
                    }, {
                        'displayName': 'b'
                    }],
                    'rows': [{
                        'row': [1, 2]
                    }, {
                        'row': [3, 4]
                    }],
                },
                'confidenceMetrics': [
                    {
                        'confidenceThreshold': 1.0,
                        'recall': 0.1,
                        'falsePositiveRate': 0.0
                    },
                    {
                        'confidenceThreshold': 0.5,
                        'recall': 0.9,
                        'falsePositiveRate': 0.5
                    },
                ],
            })
        self.assertEqual(arts['markdown']['metadata'], {})
        self.assertEqual(
            self.read(self.path('task', 'artifacts', 'markdown')), '## Hello')
        self.assertEqual(
            self.read(self.path('task', 'artifacts', 'html')),
            '<h1>Hello</h1>')

    def test_output_path_and_input_path(self):
        # preprocess (KFP's lightweight components sample)
        source = '''
            def preprocess(
                message: str,
                input_dict_parameter: Dict[str, int],
                output_dataset_one: OutputPath('Dataset'),
                output_parameter_path: OutputPath(str),
                output_bool_parameter_path: OutputPath(bool),
                output_dict_parameter_path: OutputPath(Dict[str, int]),
                output_list_parameter_path: OutputPath(List[str]),
                output_int_path: OutputPath(int),
            ):
                import json
                with open(output_dataset_one, 'w') as f:
                    f.write(message)
                with open(output_parameter_path, 'w') as f:
                    f.write(message)
                with open(output_bool_parameter_path, 'w') as f:
                    f.write(str(True))
                with open(output_dict_parameter_path, 'w') as f:
                    f.write(json.dumps(input_dict_parameter))
                with open(output_list_parameter_path, 'w') as f:
                    f.write(json.dumps(['a', 'b']))
                with open(output_int_path, 'w') as f:
                    f.write('42\\n')
        '''
        params = [
            'output_parameter_path', 'output_bool_parameter_path',
            'output_dict_parameter_path', 'output_list_parameter_path',
            'output_int_path'
        ]
        _, _, _, out = self.run_component(
            source, 'preprocess',
            self.executor_input(
                {
                    'message': 'hello\n',
                    'input_dict_parameter': {
                        'A': 1
                    }
                },
                out_params=params,
                out_artifacts={'output_dataset_one': 'system.Dataset'}))
        self.assertEqual(
            out['parameterValues'], {
                'output_parameter_path': 'hello\n',
                'output_bool_parameter_path': True,
                'output_dict_parameter_path': {
                    'A': 1
                },
                'output_list_parameter_path': ['a', 'b'],
                'output_int_path': 42,
            })
        self.assertEqual(
            self.read(self.path('task', 'params', 'output_parameter_path')),
            'hello\n')
        dataset = self.path('task', 'artifacts', 'output_dataset_one')
        self.assertEqual(self.read(dataset), 'hello\n')
        self.assertEqual(list(out['artifacts']), ['output_dataset_one'])

        consumer = '''
            def train(dataset_one_path: InputPath('Dataset'), any_path: dsl.InputPath()) -> str:
                with open(dataset_one_path) as f:
                    return f.read() + open(any_path).read()
        '''
        _, _, _, out = self.run_component(
            consumer, 'train',
            self.executor_input(
                in_artifacts={
                    'dataset_one_path': [
                        self.artifact('d', 'system.Dataset', dataset)
                    ],
                    'any_path': [self.artifact('a', 'system.Artifact', dataset)]
                },
                out_params=['Output']))
        self.assertEqual(out, {'parameterValues': {'Output': 'hello\nhello\n'}})

    def test_unparsable_output_path_left_to_launcher(self):
        source = '''
            def f(n: OutputPath(int)):
                with open(n, 'w') as f:
                    f.write('not a number')
        '''
        _, _, _, out = self.run_component(source, 'f',
                                          self.executor_input(out_params=['n']))
        self.assertEqual(out, {})

    def test_collected_artifact_lists(self):
        # collected_artifacts / artifacts_simple
        source = '''
            def read_datasets(data: Input[List[Dataset]], models: List[Model],
                              none: Optional[List[Dataset]] = None) -> str:
                assert none is None
                parts = []
                for d in data:
                    assert isinstance(d, Dataset), type(d)
                    with open(d.path) as f:
                        parts.append(d.name + '=' + f.read())
                for m in models:
                    assert isinstance(m, Model), type(m)
                    parts.append(m.name + ':' + str(m.metadata))
                return ','.join(parts)
        '''
        arts = []
        for i in range(3):
            p = self.path('in', 'data', str(i))
            self.write(p, str(i * 10))
            arts.append(self.artifact(f'd{i}', 'system.Dataset', p))
        models = [
            self.artifact('m0', 'system.Model', self.path('in', 'm0'),
                          {'k': 1}),
            self.artifact('m1', 'system.Model', self.path('in', 'm1')),
        ]
        _, _, _, out = self.run_component(
            source, 'read_datasets',
            self.executor_input(
                in_artifacts={
                    'data': arts,
                    'models': models
                }, out_params=['Output']))
        self.assertEqual(out['parameterValues']['Output'],
                         "d0=0,d1=10,d2=20,m0:{'k': 1},m1:{}")

    def test_pythonic_artifacts_with_get_uri(self):
        # pythonic_artifacts_with_multiple_returns / GH-12033 make_dataset
        source = '''
            def make_dataset(data: str) -> Dataset:
                dataset = Dataset(uri=dsl.get_uri(), metadata={'length': len(data)})
                with open(dataset.path, 'w') as f:
                    f.write(data)
                return dataset

            def dataset_splitter(
                in_dataset: Dataset
            ) -> NamedTuple('outputs', dataset1=Dataset, dataset2=Dataset):
                with open(in_dataset.path) as f:
                    in_data = f.read()
                half = len(in_data) // 2
                dataset1 = Dataset(uri=dsl.get_uri(suffix='dataset1'),
                                   metadata={'original_data': in_dataset.name})
                with open(dataset1.path, 'w') as f:
                    f.write(in_data[:half])
                dataset2 = Dataset(uri=dsl.get_uri(suffix='dataset2'),
                                   metadata={'original_data': in_dataset.name})
                with open(dataset2.path, 'w') as f:
                    f.write(in_data[half:])
                outputs = NamedTuple('outputs', dataset1=Dataset, dataset2=Dataset)
                return outputs(dataset1=dataset1, dataset2=dataset2)
        '''
        root = os.path.dirname(self.output_file)
        _, _, _, out = self.run_component(
            source, 'make_dataset',
            self.executor_input({'data': 'abcd'},
                                out_artifacts={'Output': 'system.Dataset'}))
        self.assertEqual(
            out, {
                'artifacts': {
                    'Output': {
                        'artifacts': [{
                            'name': '',
                            'uri': os.path.join(root, 'Output'),
                            'metadata': {
                                'length': 4
                            }
                        }]
                    }
                }
            })
        self.assertEqual(self.read(os.path.join(root, 'Output')), 'abcd')
        # ... and copied to where executor_input said the output goes.
        self.assertEqual(self.read(self.path('task', 'artifacts', 'Output')),
                         'abcd')

        _, _, _, out = self.run_component(
            source, 'dataset_splitter',
            self.executor_input(
                in_artifacts={
                    'in_dataset': [
                        self.artifact('in', 'system.Dataset',
                                      os.path.join(root, 'Output'))
                    ]
                },
                out_artifacts={
                    'dataset1': 'system.Dataset',
                    'dataset2': 'system.Dataset'
                }))
        self.assertEqual(out['artifacts']['dataset2']['artifacts'][0], {
            'name': '',
            'uri': os.path.join(root, 'dataset2'),
            'metadata': {
                'original_data': 'in'
            }
        })
        self.assertEqual(self.read(os.path.join(root, 'dataset1')), 'ab')
        self.assertEqual(self.read(os.path.join(root, 'dataset2')), 'cd')
        self.assertEqual(
            self.read(self.path('task', 'artifacts', 'dataset1')), 'ab')
        self.assertEqual(
            self.read(self.path('task', 'artifacts', 'dataset2')), 'cd')

    def test_relocated_output_directory(self):
        source = '''
            def f(model: Output[Model]):
                import os
                model.path = model.path + '-elsewhere'
                os.makedirs(os.path.join(model.path, 'sub'))
                with open(os.path.join(model.path, 'sub', 'weights'), 'w') as f:
                    f.write('w')
        '''
        declared = self.path('task', 'artifacts', 'model')
        _, _, _, out = self.run_component(
            source, 'f', self.executor_input(out_artifacts={'model': 'system.Model'}))
        self.assertEqual(out['artifacts']['model']['artifacts'][0]['uri'],
                         declared + '-elsewhere')
        self.assertEqual(self.read(os.path.join(declared, 'sub', 'weights')),
                         'w')

    def test_optional_artifact_absent(self):
        # components_with_optional_artifacts
        source = '''
            def python_artifact_printer(artifact: Optional[Input[Artifact]] = None):
                if artifact is not None:
                    print(artifact.name)
                else:
                    print('No artifact provided!')
        '''
        _, stdout, _, out = self.run_component(source,
                                               'python_artifact_printer',
                                               self.executor_input())
        self.assertEqual(stdout, 'No artifact provided!\n')
        self.assertEqual(out, {})

    def test_set_path_custom_path(self):
        # pipeline_with_artifact_custom_path (KFP 2.14)
        custom = self.path('elsewhere', 'out_dataset')
        os.makedirs(os.path.dirname(custom))
        source = f'''
            def component_output_artifact(out_dataset: Output[Dataset]):
                out_dataset.set_path({custom!r})
                with open(out_dataset.path, 'w') as f:
                    f.write('Hello, World!')
                if out_dataset.path != {custom!r}:
                    raise ValueError(out_dataset.path)
                if out_dataset.custom_path != {custom!r}:
                    raise ValueError(out_dataset.custom_path)
        '''
        uri = self.path('task', 'artifacts', 'out_dataset')
        _, _, _, out = self.run_component(
            source, 'component_output_artifact',
            self.executor_input(out_artifacts={'out_dataset': 'system.Dataset'}))
        self.assertEqual(
            out['artifacts']['out_dataset']['artifacts'][0], {
                'name': 'out_dataset',
                'uri': uri,
                'metadata': {},
                'custom_path': custom
            })
        self.assertEqual(self.read(uri), 'Hello, World!')

    def test_embedded_input(self):
        # embedded_artifact: the source defines the embedded asset globals.
        asset = self.path('asset', 'log.txt')
        self.write(asset, 'Hello, world!')
        source = f'''
            __KFP_EMBEDDED_ASSET_DIR = {os.path.dirname(asset)!r}
            __KFP_EMBEDDED_ASSET_FILE = {asset!r}

            def read_embedded_artifact_file(artifact: dsl.EmbeddedInput[dsl.Dataset]):
                assert isinstance(artifact, Dataset)
                with open(artifact.path, 'r', encoding='utf-8') as f:
                    log = f.read()
                assert log == 'Hello, world!'
        '''
        self.run_component(source, 'read_embedded_artifact_file',
                           self.executor_input())

    # ---- task status, placeholders, failures ------------------------------

    def test_pipeline_task_final_status(self):
        # pipeline_with_task_final_status / component_with_task_final_status
        source = '''
            def exit_op(user_input: str, status: PipelineTaskFinalStatus) -> str:
                print(status)
                return (f'{user_input}|{status.state}|{status.pipeline_job_resource_name}|'
                        f'{status.pipeline_task_name}|{status.error_code}|{status.error_message}')

            def old_names(status: dsl.PipelineTaskFinalStatus) -> str:
                return f'{status.pipeline_job_resource_name}|{status.pipeline_task_name}'
        '''
        status = {
            'state': 'FAILED',
            'pipelineJobResourceName': 'pipeline-run-1',
            'pipelineTaskName': 'exit-handler-1',
            'error': {
                'code': 9,
                'message': 'fail-op failed'
            },
        }
        _, stdout, _, out = self.run_component(
            source, 'exit_op',
            self.executor_input({
                'user_input': 'x',
                'status': status
            },
                                out_params=['Output']))
        self.assertEqual(
            out['parameterValues']['Output'],
            'x|FAILED|pipeline-run-1|exit-handler-1|9|fail-op failed')
        self.assertTrue(stdout.startswith("PipelineTaskFinalStatus(state='FAILED'"),
                        stdout)
        _, _, _, out = self.run_component(
            source, 'old_names',
            self.executor_input(
                {
                    'status': {
                        'state': 'SUCCEEDED',
                        'pipeline_job_resource_name': 'job',
                        'pipeline_task_name': 'task'
                    }
                },
                out_params=['Output']))
        self.assertEqual(out['parameterValues']['Output'], 'job|task')

    def test_kfp_names(self):
        source = '''
            import kfp.dsl

            @dsl.component
            def decorated(x: str) -> str:
                return x

            @dsl.component(base_image='python:3.11')
            def f() -> list:
                return [kfp.__version__, PIPELINE_JOB_NAME_PLACEHOLDER,
                        dsl.PIPELINE_TASK_NAME_PLACEHOLDER, decorated('d'),
                        callable(dsl.pipeline), callable(kfp.dsl.component),
                        'component' in globals()]
        '''
        _, _, _, out = self.run_component(
            source, 'f', self.executor_input(out_params=['Output']))
        self.assertEqual(out['parameterValues']['Output'], [
            '2.14.3', '{{$.pipeline_job_name}}', '{{$.pipeline_task_name}}',
            'd', True, True, False
        ])

    def test_missing_third_party_import(self):
        # metrics_visualization_v2 imports sklearn inside the function.
        source = '''
            def digit_classification(metrics: Output[Metrics]):
                from sklearn import model_selection
                metrics.log_metric('accuracy', 1.0)
        '''
        rc, stdout, stderr, out = self.run_component(
            source,
            'digit_classification',
            self.executor_input(out_artifacts={'metrics': 'system.Metrics'}),
            expect_ok=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("ModuleNotFoundError: No module named 'sklearn'", stderr)
        self.assertIsNone(out)
        self.assertEqual(stdout, '')

        # ... and at module level (pipeline_with_google_artifact_type).
        source = '''
            import aiplatform_kubeline_missing
            def f():
                pass
        '''
        rc, _, stderr, out = self.run_component(
            source, 'f', self.executor_input(), expect_ok=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("No module named 'aiplatform_kubeline_missing'", stderr)
        self.assertIsNone(out)

    def test_component_exception_fails(self):
        source = '''
            def fail(message: str):
                import sys
                print(message)
                sys.exit(1)

            def boom():
                raise RuntimeError('intentional')
        '''
        rc, stdout, _, out = self.run_component(
            source, 'fail', self.executor_input({'message': 'bye'}),
            expect_ok=False)
        self.assertEqual(rc, 1)
        self.assertEqual(stdout, 'bye\n')
        self.assertIsNone(out)
        rc, _, stderr, out = self.run_component(
            source, 'boom', self.executor_input(), expect_ok=False)
        self.assertNotEqual(rc, 0)
        self.assertIn('RuntimeError: intentional', stderr)
        self.assertIsNone(out)


class PackageTreeTest(unittest.TestCase):

    def test_only_python_sources(self):
        # Go embeds runtime/launcher/pyexec/kfp as is.
        for dirpath, dirnames, filenames in os.walk(os.path.join(PYEXEC, 'kfp')):
            dirnames[:] = [d for d in dirnames if d != '__pycache__']
            for name in filenames:
                self.assertTrue(name.endswith('.py'),
                                os.path.join(dirpath, name))


if __name__ == '__main__':
    unittest.main()
