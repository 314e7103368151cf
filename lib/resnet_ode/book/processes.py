"""The processes a book command starts, and how an interrupt ends them.

Scratch files: temporary notebooks live in a scratch folder under
``_build/tmp/`` (:func:`scratch_root`) and are published by an atomic rename
(:func:`publish`), so an interrupted execution leaves the previous file
untouched and nothing temporary inside ``book/``.

Kernels are executed from a helper thread (:func:`in_thread`), so that the
main thread receives Ctrl-C (nbclient, in the main thread, installs signal
handlers that only shut the kernel down and let the command go on). On an
interrupt the kernels this process started are killed with their process
group (the package's worker processes, :func:`kill_kernels`), pool workers
are stopped (:func:`stop_pool`), and :func:`stop_children` ends the rest.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
import weakref
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from resnet_ode.util.paths import repo_root
from resnet_ode.util.storage import atomic_path


#: Environment variable naming the scratch folder of the running command (set by ``resnet-ode``).
SCRATCH_ENV = "RESNET_ODE_TMPDIR"


def scratch_root() -> Path:
    """Folder of temporary notebooks: ``RESNET_ODE_TMPDIR``, else ``_build/tmp`` in the repository.

    Never inside ``book/``, where git and nbval would see a temporary file;
    ``_build/`` is ignored by git and lies on the file system of the book,
    so the final rename into place stays atomic. ``resnet-ode`` gives every
    command a folder of its own there and removes it when the command ends,
    also after an interrupt.
    """
    env = os.environ.get(SCRATCH_ENV)
    path = Path(env) if env else repo_root() / "_build" / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def scratch_path(name: str):
    """A fresh folder in :func:`scratch_root`, removed on exit (also on an interrupt)."""
    folder = Path(tempfile.mkdtemp(prefix=f"{name}.", dir=scratch_root()))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def publish(src: Path, dest: Path) -> Path:
    """Put the finished file ``src`` at ``dest`` atomically: flushed to disk, then renamed."""
    with open(src, "rb+") as fh:
        os.fsync(fh.fileno())
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(src, 0o666 & ~umask)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(src, dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        with atomic_path(dest) as tmp:  # another file system (an --output elsewhere): a copy next to it
            shutil.copyfile(src, tmp)
    return dest


_KERNELS: weakref.WeakSet = weakref.WeakSet()
_TRACKED_KM = None
_STOPPING = threading.Event()  # set when this process is being stopped: no new kernel starts


#: Argument of every kernel the package starts, which runs :func:`resnet_ode.book.failures.quiet_kernel_shutdown`
#: first (IPython's ``exec_lines``, so no cell, no output and no execution count).
KERNEL_START = ("--IPKernelApp.exec_lines=import resnet_ode.book.failures as _f; _f.quiet_kernel_shutdown(); del _f")


def kernel_manager_class():
    """jupyter_client's ``AsyncKernelManager``, remembering every kernel it starts (for :func:`kill_kernels`)."""
    global _TRACKED_KM
    if _TRACKED_KM is None:
        from jupyter_client.manager import AsyncKernelManager

        class TrackedKernelManager(AsyncKernelManager):
            async def start_kernel(self, **kwargs):
                if _STOPPING.is_set():
                    raise KeyboardInterrupt("interrupted: no new kernel is started")
                self.resnet_ode_launching = True
                _KERNELS.add(self)  # before the launch, so that an interrupt during it finds the process
                if not self.connection_file:  # in the scratch folder, which goes whatever happens to this process
                    self.connection_file = str(scratch_root() / f"kernel-{uuid.uuid4().hex}.json")
                kwargs["extra_arguments"] = [*(kwargs.get("extra_arguments") or []), KERNEL_START]
                try:
                    await super().start_kernel(**kwargs)
                finally:
                    self.resnet_ode_launching = False
                    if _STOPPING.is_set():  # stopped while it launched: the kernel goes at once
                        _kill_kernel(self)

            async def _async_interrupt_kernel(self):
                # jupyter_client sends SIGINT before asking a kernel to shut down; a kernel that is just
                # answering a message then prints "KeyboardInterrupt caught in kernel" on the command's
                # terminal. The shutdown request, then SIGTERM and SIGKILL, end it without.
                if getattr(self, "shutting_down", False):
                    return
                await super()._async_interrupt_kernel()

        _TRACKED_KM = TrackedKernelManager
    return _TRACKED_KM


def isolated_kernel_manager_class(env: dict, cwd, folder):
    """A :func:`kernel_manager_class` whose kernels start in ``cwd`` with ``env`` added to this process's environment.

    For kernels on a Dask worker, where several tasks may run in threads of
    one process: nothing process-wide changes (no ``os.environ`` write, no
    ``os.chdir``), and the kernel's connection file goes to ``folder``, not
    to the scratch folder of the repository.

    Parameters
    ----------
    env : dict of str -> str
        Variables set for the kernel (over the worker's own).
    cwd : str or Path
        The kernel's working folder.
    folder : str or Path
        Where its connection file is written.

    Returns
    -------
    type
        A subclass of jupyter_client's ``AsyncKernelManager``.
    """
    env = {str(k): str(v) for k, v in env.items()}
    cwd, folder = str(cwd), Path(folder)

    class IsolatedKernelManager(kernel_manager_class()):
        async def start_kernel(self, **kwargs):
            if not self.connection_file:
                self.connection_file = str(folder / f"kernel-{uuid.uuid4().hex}.json")
            kwargs["env"] = {**os.environ, **kwargs.get("env", {}), **env}
            kwargs["cwd"] = cwd
            await super().start_kernel(**kwargs)

    return IsolatedKernelManager


def kill_kernels():
    """Kill every kernel this process started that still runs, with its process group.

    jupyter_client starts each kernel in a session of its own, so the
    kernel's process group holds the kernel and the worker processes of
    :mod:`resnet_ode.core.parallel` it started, and nothing else. A kernel being
    launched at this moment is waited for until its process exists (at most
    30 s) and killed too; one launched later, while this process is stopping,
    kills itself (``TrackedKernelManager.start_kernel``). The connection files
    of these kernels are removed.
    """
    deadline = time.monotonic() + 30.0
    for km in list(_KERNELS):
        while _kernel_process(km) is None and getattr(km, "resnet_ode_launching", False) \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        _kill_kernel(km)


def _kernel_process(km):
    return getattr(getattr(km, "provisioner", None), "process", None)


def _kill_kernel(km):
    """Kill the kernel of ``km`` with its process group (its workers) if it runs; remove its connection file."""
    proc = _kernel_process(km)
    if proc is not None and proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            pgid = os.getpgid(proc.pid)
            if pgid == proc.pid and pgid != os.getpgrp():
                os.killpg(pgid, signal.SIGKILL)
            else:
                proc.kill()
        _KERNELS.discard(km)
        with contextlib.suppress(Exception):
            proc.wait(timeout=5)
    with contextlib.suppress(Exception):
        km.cleanup_connection_file()


def in_thread(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` in a helper thread, waited for so that Ctrl-C reaches the caller.

    Called in the main thread, nbclient installs SIGINT and SIGTERM handlers
    that only shut its kernel down, and the command went on; in a helper
    thread it installs none. On an interrupt (any exception) the kernels of
    this process are killed and the exception re-raised at once.
    """
    if threading.current_thread() is not threading.main_thread():
        return fn(*args, **kwargs)
    box = {}

    def target():
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=target, name="resnet-ode-kernel", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.1)
    except BaseException:
        kill_kernels()
        raise
    if "error" in box:
        raise box["error"]
    return box.get("value")


def pool_worker_init():
    """Set up a worker process of a local pool: Ctrl-C is left to the parent, SIGTERM ends the worker at once."""
    # Ctrl-C reaches the whole process group: the parent decides, and stops the
    # workers with SIGTERM, on which a worker kills its kernels and exits at once.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _pool_worker_stop)


def _pool_worker_stop(signum, frame):
    # The executor may send a second SIGTERM (it terminates the rest of a broken pool):
    # it must not cut this handler short before the kernels are dead.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _STOPPING.set()
    kill_kernels()
    # The worker processes of a run trained here (resnet_ode.core.parallel), also one being started.
    with contextlib.suppress(Exception):
        _kill_all(_descendants([os.getpid()]))
    os._exit(128 + signum)


def stop_pool(pool: ProcessPoolExecutor, grace: float = 5.0):
    """Stop a pool's workers now (SIGTERM, then SIGKILL after ``grace`` seconds) and their kernels with them."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    stray = _descendants([p.pid for p in procs])  # in case a worker dies before it has killed its kernel
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.terminate()
    deadline = time.monotonic() + grace
    for proc in procs:
        proc.join(max(0.05, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join(1.0)
    pool.shutdown(wait=False, cancel_futures=True)
    _kill_all(stray)


def _descendants(pids) -> list:
    """The processes below ``pids`` (``psutil.Process`` objects; none without psutil)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        return []
    found = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            found.extend(psutil.Process(pid).children(recursive=True))
    return found


def _kill_all(procs, timeout: float = 3.0):
    if not procs:
        return
    import psutil

    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(procs, timeout=timeout)


def stop_children(timeout: float = 3.0):
    """End everything this process started that still runs: kernels (with their workers), then any other child.

    Called by ``resnet-ode`` after an interrupt; this process starts no
    kernel afterwards. Returns the number of processes killed besides the
    kernels.
    """
    _STOPPING.set()
    kill_kernels()
    children = _descendants([os.getpid()])
    _kill_all(children, timeout)
    return len(children)


class command_scratch:
    """A scratch folder of this command under ``_build/tmp/`` for its temporary notebooks.

    Exported as ``RESNET_ODE_TMPDIR`` (so that sweep workers use it too);
    removed with everything in it when the command ends, however it ends.
    Nothing temporary is written into ``book/``. The system's temporary
    folder of every process the command starts (``TMPDIR``: kernel
    connection files, the worker pools' sockets) is a folder of its own too,
    removed with it: a kernel killed while it started its workers cannot
    leave its socket's folder behind.
    """

    _VARS = ("RESNET_ODE_TMPDIR", "TMPDIR")

    def __init__(self, active: bool):
        self.active = active
        self.folder = None

    def __enter__(self):
        if not self.active:
            return None
        self.saved = {k: os.environ.get(k) for k in self._VARS}
        base = repo_root() / "_build" / "tmp"
        try:
            base.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix=f"resnet-ode-{os.getpid()}-", dir=base))
        except OSError:  # a read-only checkout: the system's temporary folder
            self.folder = Path(tempfile.mkdtemp(prefix=f"resnet-ode-{os.getpid()}-"))
        # Short (an AF_UNIX socket's path may not exceed 108 bytes): in the system's temporary folder.
        self.systmp = tempfile.mkdtemp(prefix=f"resnet-ode-{os.getpid()}-")
        os.environ["RESNET_ODE_TMPDIR"] = str(self.folder)
        os.environ["TMPDIR"] = self.systmp
        return self.folder

    def __exit__(self, *exc):
        if self.folder is None:
            return False
        shutil.rmtree(self.folder, ignore_errors=True)
        shutil.rmtree(self.systmp, ignore_errors=True)
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        return False
