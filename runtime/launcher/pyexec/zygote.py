# kubeline's Python zygote (run as `python -c SOURCE MODULE`): it imports
# MODULE (the KFP executor, kfp.dsl.executor_main) once, then starts every
# step of a run that uses the same interpreter by forking itself, so a step
# does not pay for the interpreter's start and the executor's imports.
#
# fd 3 is a listening Unix socket. A step is one connection: its request
# is one JSON line {"argv": [...], "env": {...}, "cwd": DIR} sent with three
# file descriptors (the step's stdin, stdout, stderr) as SCM_RIGHTS. The
# forked step answers {"pid": N} at once and {"exit": CODE} when MODULE
# returns; a step killed by a signal just closes the connection. The zygote
# prints "ready" on stdout once MODULE is imported (or the error and exits
# 1), and exits when its stdin closes. The steps are their own process
# groups and die with the zygote (PR_SET_PDEATHSIG).
import ctypes
import json
import os
import importlib
import runpy
import select
import signal
import socket
import sys
import traceback

PR_SET_PDEATHSIG = 1
MODULE = sys.argv[1]


def step(conn, fds, req):
    os.setpgid(0, 0)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:
        pass
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for i, fd in enumerate(fds):
        os.dup2(fd, i)
        os.close(fd)
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    conn.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
    sys.argv = list(req["argv"])
    code = 0
    try:
        runpy._run_module_as_main(MODULE)
    except SystemExit as e:
        if e.code is None:
            code = 0
        elif isinstance(e.code, int):
            code = e.code
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass
    try:
        conn.sendall(json.dumps({"exit": code}).encode() + b"\n")
    finally:
        os._exit(code)


def serve(listener):
    while True:
        ready, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 1):
            return
        if listener not in ready:
            continue
        conn, _ = listener.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
        while not msg.endswith(b"\n"):
            more = conn.recv(1 << 20)
            if not more:
                break
            msg += more
        if os.fork() == 0:
            listener.close()
            step(conn, fds, json.loads(msg))
        conn.close()
        for fd in fds:
            os.close(fd)


def main():
    listener = socket.socket(fileno=3)
    try:
        importlib.import_module(MODULE)
    except BaseException:
        traceback.print_exc()
        sys.exit(1)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the steps
    print("ready", flush=True)
    serve(listener)


main()
