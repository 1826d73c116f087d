"""Test support for the rig GUI: a windowless imgui driver and a real X display.

``drive(gui, script)``
    Runs ``gui()`` every frame inside a window called ``"Rig"`` with Hello ImGui's
    null platform and renderer backends (no window, no OpenGL) and imgui-bundle's
    test engine, which runs ``script(ctx)`` on its coroutine: ``ctx.item_click(label)``
    moves the simulated mouse onto the item and clicks it, frames render in between,
    exactly as for a user. Exceptions raised by the script are re-raised.

``xvfb()``
    A context manager that starts ``Xvfb`` on a free display (Mesa's llvmpipe renders
    OpenGL in software) and sets ``DISPLAY``.

``close_window(title)``
    Sends the window manager's close request (``WM_DELETE_WINDOW``) to the X window
    with that title, what clicking its close button does.

When the GUI extra or Xvfb is missing the tests skip, except under CI
(``CI=true``), where they fail: CI must really run them.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import importlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require(module: str):
    """Import ``module``; skip the test without it, except under CI (then fail)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if IN_CI:
            raise
        pytest.skip(f"{module} is not installed ({exc}); pip install -e '.[gui]'")


# ---------------------------------------------------------------------------- windowless
def drive(gui: Callable[[], None], script: Callable, *, size=(1100, 800), max_frames=20_000):
    """Run ``gui`` in a windowless imgui app while the test engine runs ``script(ctx)``."""
    hello_imgui = require("imgui_bundle.hello_imgui")
    from imgui_bundle import imgui, immapp

    te = imgui.test_engine
    errors: list[BaseException] = []
    frames = [0]

    def test_func(ctx) -> None:
        try:
            ctx.set_ref("Rig")
            ctx.yield_(2)
            script(ctx)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the test's thread
            errors.append(exc)

    def register() -> None:
        engine = hello_imgui.get_imgui_test_engine()
        te.get_io(engine).config_run_speed = te.TestRunSpeed.fast  # no animated mouse
        test = te.register_test(engine, "moveo", "script")
        test.test_func = test_func
        te.queue_test(engine, test)

    def show() -> None:
        imgui.set_next_window_pos(imgui.ImVec2(0, 0))
        imgui.set_next_window_size(imgui.ImVec2(*size))
        imgui.begin("Rig", None, imgui.WindowFlags_.no_saved_settings)
        try:
            gui()
        finally:
            imgui.end()
        frames[0] += 1
        engine = hello_imgui.get_imgui_test_engine()
        if frames[0] > 3 and te.is_test_queue_empty(engine) or frames[0] > max_frames:
            hello_imgui.get_runner_params().app_shall_exit = True

    def post_init() -> None:
        # the null renderer uploads nothing: declare texture support so the font
        # atlas needs no pre-built texture
        imgui.get_io().backend_flags |= imgui.BackendFlags_.renderer_has_textures

    def unbind() -> None:
        # the null backend never destroys its imgui context; unbind the engine so
        # the engine can be destroyed
        te.unbind_im_gui_context(hello_imgui.get_imgui_test_engine(),
                                 imgui.get_current_context())

    params = hello_imgui.RunnerParams()
    params.platform_backend_type = hello_imgui.PlatformBackendType.null
    params.renderer_backend_type = hello_imgui.RendererBackendType.null
    params.use_imgui_test_engine = True
    params.fps_idling.enable_idling = False
    params.ini_disable = True
    params.imgui_window_params.default_imgui_window_type = (
        hello_imgui.DefaultImGuiWindowType.no_default_window)
    params.callbacks.show_gui = show
    params.callbacks.register_tests = register
    params.callbacks.post_init = post_init
    params.callbacks.before_exit_post_cleanup = unbind
    addons = immapp.AddOnsParams()
    addons.with_implot = True
    immapp.run(params, addons)
    # the null backend leaves its imgui (and implot) context current: destroy them, or
    # a real window opened later in this process starts on a dangling context
    leftover = imgui.get_current_context()
    if leftover is not None:
        from imgui_bundle import implot

        if implot.get_current_context() is not None:
            implot.destroy_context()
        imgui.destroy_context(leftover)
    if frames[0] > max_frames:
        raise AssertionError(f"the GUI script did not finish within {max_frames} frames")
    if errors:
        raise errors[0]


def disabled(ctx, label: str) -> bool:
    """Whether the item ``label`` (in the current ref window) is drawn disabled."""
    from imgui_bundle import imgui

    info = ctx.item_info(label)
    assert info.id_ != 0, f"no item {label!r} in this frame"
    return bool(info.item_flags & imgui.ItemFlags_.disabled)


def wait_for(ctx, cond: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let frames render until ``cond()`` holds."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not reached within the timeout")
        ctx.yield_(1)
        time.sleep(0.005)
    ctx.yield_(2)


# ---------------------------------------------------------------------------- X display
def xvfb_executable() -> str:
    exe = shutil.which("Xvfb")
    if exe is None:
        message = ("Xvfb is not installed (apt-get install xvfb libgl1-mesa-dri "
                   "libglx-mesa0); .ci/run installs it")
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return exe


def _start_xvfb(exe: str, number: int, width: int, height: int, log) -> subprocess.Popen | None:
    proc = subprocess.Popen(
        [exe, f":{number}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp",
         "-noreset"],
        stdout=subprocess.DEVNULL, stderr=log)  # a file, not a pipe: a full pipe blocks Xvfb
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        if Path(f"/tmp/.X11-unix/X{number}").exists():
            return proc
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)
    return None  # lost a race for this display number, or Xvfb failed


@contextlib.contextmanager
def xvfb(width: int = 1280, height: int = 800) -> Iterator[str]:
    """Start Xvfb on a free display number; yield ``":N"`` with DISPLAY set to it."""
    exe = xvfb_executable()
    for number in range(120, 400):
        if Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
            continue
        with tempfile.TemporaryFile() as log:
            proc = _start_xvfb(exe, number, width, height, log)
            if proc is None:
                continue
            old = os.environ.get("DISPLAY")
            os.environ["DISPLAY"] = f":{number}"
            try:
                yield f":{number}"
            finally:
                if old is None:
                    os.environ.pop("DISPLAY", None)
                else:
                    os.environ["DISPLAY"] = old
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
            return
    raise RuntimeError("no free X display number for Xvfb")


class _XClientMessage(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong),
                ("send_event", ctypes.c_int), ("display", ctypes.c_void_p),
                ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]


class _XEvent(ctypes.Union):
    _fields_ = [("xclient", _XClientMessage), ("pad", ctypes.c_long * 24)]


def _x11():
    name = ctypes.util.find_library("X11")
    if name is None:
        raise RuntimeError("libX11 not found")
    x = ctypes.CDLL(name)
    x.XOpenDisplay.restype = ctypes.c_void_p
    x.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x.XDefaultRootWindow.restype = ctypes.c_ulong
    x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x.XInternAtom.restype = ctypes.c_ulong
    x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong),
                             ctypes.POINTER(ctypes.c_ulong),
                             ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)),
                             ctypes.POINTER(ctypes.c_uint)]
    x.XFetchName.argtypes = [ctypes.c_void_p, ctypes.c_ulong,
                             ctypes.POINTER(ctypes.c_char_p)]
    x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long,
                             ctypes.POINTER(_XEvent)]
    x.XFlush.argtypes = [ctypes.c_void_p]
    x.XFree.argtypes = [ctypes.c_void_p]
    x.XCloseDisplay.argtypes = [ctypes.c_void_p]
    return x


def find_window(title: str) -> int | None:
    """X window id of a top-level window titled ``title`` on ``$DISPLAY`` (or None)."""
    x = _x11()
    dpy = x.XOpenDisplay(os.environ["DISPLAY"].encode())
    if not dpy:
        raise RuntimeError(f"cannot open X display {os.environ['DISPLAY']}")
    try:
        root = x.XDefaultRootWindow(dpy)
        root_ret, parent = ctypes.c_ulong(), ctypes.c_ulong()
        children = ctypes.POINTER(ctypes.c_ulong)()
        n = ctypes.c_uint()
        x.XQueryTree(dpy, root, ctypes.byref(root_ret), ctypes.byref(parent),
                     ctypes.byref(children), ctypes.byref(n))
        found = None
        for i in range(n.value):
            name = ctypes.c_char_p()
            if x.XFetchName(dpy, children[i], ctypes.byref(name)) and name.value:
                if name.value.decode() == title:
                    found = int(children[i])
                x.XFree(name)
        if children:
            x.XFree(children)
        return found
    finally:
        x.XCloseDisplay(dpy)


def close_window(title: str, timeout: float = 30.0) -> None:
    """Send WM_DELETE_WINDOW to the window titled ``title`` (waits for it to exist)."""
    deadline = time.monotonic() + timeout
    window = find_window(title)
    while window is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"no X window titled {title!r}")
        time.sleep(0.05)
        window = find_window(title)
    x = _x11()
    dpy = x.XOpenDisplay(os.environ["DISPLAY"].encode())
    try:
        event = _XEvent()
        event.xclient.type = 33  # ClientMessage
        event.xclient.window = window
        event.xclient.message_type = x.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
        event.xclient.format = 32
        event.xclient.data[0] = x.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
        event.xclient.data[1] = 0  # CurrentTime
        x.XSendEvent(dpy, window, 0, 0, ctypes.byref(event))
        x.XFlush(dpy)
    finally:
        x.XCloseDisplay(dpy)
