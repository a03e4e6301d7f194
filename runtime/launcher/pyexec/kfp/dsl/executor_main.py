"""python3 -m kfp.dsl.executor_main: KFP's entry point for lightweight Python
components, as the kfp SDK's (2.x) but with kubeline's builtin runtime.

  python3 -m kfp.dsl.executor_main --component_module_path DIR/ephemeral_component.py \\
      --executor_input JSON --function_to_execute NAME

loads the component module, runs NAME through the Executor and writes
executor_output.json. It prints one line to stderr and nothing to stdout
besides what the component prints; a failure (a missing package, an
exception in the component) exits non-zero with the traceback on stderr.
"""

import argparse
import json
import logging
import os
import sys

from kfp.dsl import executor as component_executor
from kfp.dsl import utils


def _setup_logging() -> None:
    # As KFP: the component's own logging.info() goes to stdout.
    logging.basicConfig(
        stream=sys.stdout,
        format='[KFP Executor %(asctime)s %(levelname)s]: %(message)s',
        level=logging.INFO)


def executor_main() -> None:
    parser = argparse.ArgumentParser(description='KFP Component Executor.')
    parser.add_argument(
        '--component_module_path',
        type=str,
        help='Path to a module containing the KFP component.')
    parser.add_argument(
        '--function_to_execute',
        type=str,
        required=True,
        help='The name of the component function in --component_module_path '
        'file that is to be executed.')
    parser.add_argument(
        '--executor_input',
        type=str,
        help='JSON-serialized ExecutorInput from the orchestrator. This '
        'should contain inputs and placeholders for outputs.')
    args, _ = parser.parse_known_args()

    func_name = args.function_to_execute
    print(f'kubeline builtin KFP executor running {func_name}',
          file=sys.stderr, flush=True)
    _setup_logging()

    if args.component_module_path is None:
        raise RuntimeError(
            '--component_module_path is required: kubeline\'s builtin KFP '
            'executor runs lightweight components (not kfp_config.ini '
            'containerized components)')
    if args.executor_input is None:
        raise RuntimeError('--executor_input is required')

    module_path = args.component_module_path
    module_directory = os.path.dirname(module_path)
    module_name = os.path.basename(module_path)[:-len('.py')]

    executor_input = json.loads(args.executor_input)
    module = utils.load_module(
        module_name=module_name, module_directory=module_directory)
    function_to_execute = getattr(module, func_name)

    executor = component_executor.Executor(
        executor_input=executor_input, function_to_execute=function_to_execute)
    executor.execute()


if __name__ == '__main__':
    executor_main()
