"""The rig window behind ``app.run(mode="gui")``: Dear ImGui + ImPlot on GLFW / OpenGL.

The frame loop is driven from Python with imgui-bundle's pure-Python GLFW /
OpenGL backend (``imgui_bundle.python_backends``) rather than Hello ImGui's C++
runner. The reason is the GIL: the C++ runner keeps it while it renders and
swaps (measured 2--14 ms per frame with Mesa's llvmpipe), and during that time the
predict and acquisition threads cannot run a single Python line. Here every
OpenGL and GLFW call goes through ctypes, which releases the GIL, and the frame
pacing sleeps; the GUI thread holds the GIL only while it builds a frame (and
then for at most ``sys.getswitchinterval()`` at a time), and the envelope kernels
of the signal view run without it. With Mesa's software renderer the frame is
rasterised on the GUI thread (``LP_NUM_THREADS=0`` unless set), so the window
uses at most one core.

The window only reads the realtime side (see :mod:`moveo.realtime.widgets`).
Closing it (or :meth:`App.request_stop`, or ``duration``) ends :meth:`App.run`,
which then stops the app: the predict thread is joined, a running recording is
finalised, the streams are stopped.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from moveo.realtime._util import clock

__all__ = ["GUIUnavailable", "run_window"]


class GUIUnavailable(RuntimeError):
    """The window cannot open: the GUI extra is missing or there is no display."""


def _backend() -> tuple[Any, Any, Any]:
    try:
        import glfw  # noqa: F401 - imported before imgui_bundle, as its backend docs say
        import OpenGL.GL as gl
        from imgui_bundle.python_backends.glfw_backend import GlfwRenderer
    except ImportError as exc:
        raise GUIUnavailable(
            f"app.run(mode='gui') needs the GUI extra: pip install 'moveo[gui]' ({exc})"
        ) from exc
    import glfw

    return glfw, gl, GlfwRenderer


class _GLTextures:
    """Upload the signal views' RGBA images into OpenGL textures (one per key)."""

    def __init__(self, gl: Any):
        self.gl = gl
        self._textures: dict[Any, tuple[int, int, int]] = {}

    def upload(self, key: Any, rgba: np.ndarray) -> Any:
        from imgui_bundle import imgui

        gl = self.gl
        h, w = rgba.shape[:2]
        entry = self._textures.get(key)
        gl.glPixelStorei(gl.GL_UNPACK_ALIGNMENT, 1)
        if entry is None or entry[1:] != (w, h):
            if entry is not None:
                gl.glDeleteTextures([entry[0]])
            tex = int(gl.glGenTextures(1))
            gl.glBindTexture(gl.GL_TEXTURE_2D, tex)
            # nearest: one image pixel is one screen pixel; no blur between channels
            gl.glTexParameteri(gl.GL_TEXTURE_2D, gl.GL_TEXTURE_MIN_FILTER, gl.GL_NEAREST)
            gl.glTexParameteri(gl.GL_TEXTURE_2D, gl.GL_TEXTURE_MAG_FILTER, gl.GL_NEAREST)
            gl.glTexParameteri(gl.GL_TEXTURE_2D, gl.GL_TEXTURE_WRAP_S, gl.GL_CLAMP_TO_EDGE)
            gl.glTexParameteri(gl.GL_TEXTURE_2D, gl.GL_TEXTURE_WRAP_T, gl.GL_CLAMP_TO_EDGE)
            gl.glTexImage2D(gl.GL_TEXTURE_2D, 0, gl.GL_RGBA, w, h, 0, gl.GL_RGBA,
                            gl.GL_UNSIGNED_BYTE, rgba)
            self._textures[key] = (tex, w, h)
        else:
            tex = entry[0]
            gl.glBindTexture(gl.GL_TEXTURE_2D, tex)
            gl.glTexSubImage2D(gl.GL_TEXTURE_2D, 0, 0, 0, w, h, gl.GL_RGBA,
                               gl.GL_UNSIGNED_BYTE, rgba)
        return imgui.ImTextureRef(tex)

    def destroy(self) -> None:
        if self._textures:
            self.gl.glDeleteTextures([t[0] for t in self._textures.values()])
        self._textures.clear()


def _fonts_folder() -> Path:
    import imgui_bundle

    return Path(imgui_bundle.__file__).parent / "assets" / "fonts"


def _load_fonts(size: float = 15.0) -> None:
    """Roboto with the Font Awesome 6 icons the widgets use merged in (if shipped)."""
    from imgui_bundle import imgui

    io = imgui.get_io()
    folder = _fonts_folder()
    text, icons = folder / "Roboto" / "Roboto-Regular.ttf", folder / (
        "Font_Awesome_6_Free-Solid-900.otf")
    if text.exists():
        io.fonts.add_font_from_file_ttf(str(text), size)
    else:  # pragma: no cover - every imgui-bundle wheel ships Roboto
        io.fonts.add_font_default()
    if icons.exists():
        cfg = imgui.ImFontConfig()
        cfg.merge_mode = True
        cfg.glyph_min_advance_x = size  # icons as wide as they are tall: aligned columns
        io.fonts.add_font_from_file_ttf(str(icons), size * 0.9, cfg)


def _capture(gl: Any, width: int, height: int) -> np.ndarray:
    gl.glPixelStorei(gl.GL_PACK_ALIGNMENT, 1)
    data = gl.glReadPixels(0, 0, width, height, gl.GL_RGB, gl.GL_UNSIGNED_BYTE)
    img = np.frombuffer(bytes(data) if not isinstance(data, np.ndarray) else data.tobytes(),
                        np.uint8).reshape(height, width, 3)
    return img[::-1].copy()  # OpenGL rows start at the bottom


def run_window(
    app: Any,
    *,
    ui: Callable[[Any], None] | None = None,
    title: str = "moveo",
    window_size: tuple[int, int] = (1280, 800),
    fullscreen: bool = False,
    fps: float = 60.0,
    duration: float | None = None,
    screenshot: str | Path | None = None,
) -> np.ndarray | None:
    """Open the rig window and run the app until the window closes.

    Starts the app (:meth:`App.start`), draws ``ui(app.ctx)`` (or
    :func:`moveo.realtime.widgets.rig_layout`) in a full-window panel at up to
    ``fps`` frames per second, and stops the app when the window is closed,
    :meth:`App.request_stop` is called, Ctrl-C is pressed or ``duration`` passed.

    Parameters
    ----------
    app : App
    ui : callable, optional
        ``ui(ctx)`` called every frame (default: the app's ``@app.ui`` function,
        else the default rig layout).
    title : str, default "moveo"
        Window title.
    window_size : (int, int), default (1280, 800)
        Window size in screen pixels.
    fullscreen : bool, default False
        Cover the primary monitor instead.
    fps : float, default 60.0
        Frame-rate cap (``<= 0``: no cap).
    duration : float, optional
        Close the window after this many seconds.
    screenshot : path, optional
        Save the last frame as a PNG there.

    Returns
    -------
    ndarray of shape (height, width, 3), uint8, or None
        The last frame if ``screenshot`` was given.

    Raises
    ------
    GUIUnavailable
        Without the GUI extra, or when no window can be opened (no display).
    """
    glfw, gl, GlfwRenderer = _backend()
    from imgui_bundle import imgui, implot

    from moveo.realtime import widgets
    from moveo.realtime._png import write_png

    try:
        width, height = (int(v) for v in window_size)
    except (TypeError, ValueError):
        raise TypeError(f"window_size must be (width, height), got {window_size!r}") from None
    if width < 1 or height < 1:
        raise ValueError(f"window_size must be positive, got {window_size!r}")
    fps = float(fps)
    if math.isnan(fps):
        raise ValueError("fps must be a number (0 or negative: no cap)")
    if ui is None:
        ui = getattr(app, "_ui_fn", None)
    # Mesa's software renderer (llvmpipe, e.g. under Xvfb) would otherwise spread
    # each frame over worker threads on every core, competing with acquisition and
    # prediction; rasterising on the GUI thread (inside the GIL-free buffer swap)
    # keeps the window to one core and was faster on a loaded 2-core machine too.
    # Set LP_NUM_THREADS yourself to override; GPU drivers ignore it.
    lp_set = "LP_NUM_THREADS" not in os.environ
    if lp_set:
        os.environ["LP_NUM_THREADS"] = "0"
    reporting = glfw.ERROR_REPORTING
    glfw.ERROR_REPORTING = "raise"  # a failing init / window: one clear error below
    try:
        ok = glfw.init()
        problem = "" if ok else "glfwInit failed"
    except glfw.GLFWError as exc:
        ok, problem = False, str(exc)
    if not ok:
        glfw.ERROR_REPORTING = reporting
        if lp_set:
            os.environ.pop("LP_NUM_THREADS", None)
        raise GUIUnavailable(
            f"cannot open a window: {problem} (DISPLAY={os.environ.get('DISPLAY')!r}); on a "
            "headless machine run under Xvfb, e.g. `xvfb-run -s '-screen 0 1280x800x24' "
            "...`, or use mode='headless'"
        )
    window = None
    impl = None
    textures = None
    contexts: tuple[Any, Any] | None = None
    previous: tuple[Any, Any] = (None, None)
    image = None
    try:
        app.start(gui=True)  # before the window: a cold warm-up must not freeze an open window
        glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3)
        glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
        glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
        glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
        monitor = None
        if fullscreen:
            monitor = glfw.get_primary_monitor()
            mode = glfw.get_video_mode(monitor)
            width, height = mode.size.width, mode.size.height
        try:
            window = glfw.create_window(width, height, title, monitor, None)
        except glfw.GLFWError as exc:
            window = None
            problem = str(exc)
        if not window:
            raise GUIUnavailable(f"cannot open an OpenGL 3.3 window ({problem or 'no window'};"
                                 " no OpenGL driver? On Linux install Mesa: libgl1-mesa-dri "
                                 "libglx-mesa0)")
        glfw.ERROR_REPORTING = "log"  # from here on a GLFW hiccup is logged, not raised
        glfw.make_context_current(window)
        glfw.swap_interval(0)  # pacing is ours: a vsync wait would add nothing here
        # our own contexts, made current explicitly: create_context() only makes a new
        # context current when none is, and another imgui host may have left one
        previous = (imgui.get_current_context(), implot.get_current_context())
        contexts = (imgui.create_context(), implot.create_context())
        imgui.set_current_context(contexts[0])
        implot.set_current_context(contexts[1])
        io = imgui.get_io()
        io.set_ini_filename(None)  # no imgui.ini written into the working directory
        _load_fonts()
        imgui.style_colors_dark()
        impl = GlfwRenderer(window)
        textures = _GLTextures(gl)
        widgets.reset_state()
        widgets.set_texture_uploader(textures)
        # No window background and transparent plot backgrounds: glClear paints the
        # background once. Every full-window layer costs a full pass of fragments,
        # which is what limits a software renderer (Mesa's llvmpipe under Xvfb).
        flags = (imgui.WindowFlags_.no_decoration | imgui.WindowFlags_.no_move
                 | imgui.WindowFlags_.no_saved_settings | imgui.WindowFlags_.no_background
                 | imgui.WindowFlags_.no_bring_to_front_on_focus)
        clear = imgui.get_style().color_(imgui.Col_.window_bg)
        transparent = imgui.ImVec4(0.0, 0.0, 0.0, 0.0)

        def frame(capture: bool) -> np.ndarray | None:
            glfw.poll_events()
            impl.process_inputs()
            imgui.new_frame()
            vp = imgui.get_main_viewport()
            imgui.set_next_window_pos(vp.work_pos)
            imgui.set_next_window_size(vp.work_size)
            imgui.begin("##moveo_window", None, flags)
            implot.push_style_color(implot.Col_.frame_bg, transparent)
            implot.push_style_color(implot.Col_.plot_bg, transparent)
            try:
                if ui is not None:
                    ui(app.ctx)
                else:
                    widgets.rig_layout(app)
            finally:
                implot.pop_style_color(2)
            imgui.end()
            imgui.render()
            size, scale = io.display_size, io.display_framebuffer_scale  # no X round trip
            fb_w, fb_h = round(size.x * scale.x), round(size.y * scale.y)
            gl.glViewport(0, 0, fb_w, fb_h)
            gl.glClearColor(clear.x, clear.y, clear.z, 1.0)
            gl.glClear(gl.GL_COLOR_BUFFER_BIT)
            impl.render(imgui.get_draw_data())
            shot = _capture(gl, fb_w, fb_h) if capture else None
            glfw.swap_buffers(window)
            return shot

        period = 1.0 / fps if fps > 0 else 0.0
        end = None if duration is None else clock() + float(duration)
        due = clock()
        stop = app._stop_requested
        while not (glfw.window_should_close(window) or stop.is_set()
                   or (end is not None and clock() >= end)):
            frame(False)
            if period:
                due += period
                delay = due - clock()
                if delay > 0:
                    time.sleep(delay)  # releases the GIL
                elif delay < -period:
                    due = clock()  # a slow frame: restart the grid, no catch-up burst
        if screenshot is not None:
            image = frame(True)
            write_png(screenshot, image)
    except KeyboardInterrupt:
        app.ctx.log("interrupted (Ctrl-C)")
    finally:
        try:
            if app.running:
                app.stop()
        finally:
            widgets.set_texture_uploader(None)
            if textures is not None:
                textures.destroy()
            if impl is not None:
                impl.shutdown()
            if contexts is not None:
                implot.destroy_context(contexts[1])
                imgui.destroy_context(contexts[0])
                if previous[0] is not None:
                    imgui.set_current_context(previous[0])
                if previous[1] is not None:
                    implot.set_current_context(previous[1])
            if window is not None:
                glfw.destroy_window(window)
            glfw.terminate()
            glfw.ERROR_REPORTING = reporting
            if lp_set:
                os.environ.pop("LP_NUM_THREADS", None)
    return image
