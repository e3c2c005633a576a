"""The renderers: one family, each event to its method, unknown events ignored, the same lines as before."""

from uir_cli.cli.progress import PlainRestoreRenderer, Renderer, TrainRenderer, duration
from uir_cli.engine.batch.events import FileFinished, Planned, Waiting
from uir_cli.engine.batch.pipeline import FileResult
from uir_cli.engine.events import Event, ImageStarted
from uir_cli.training.events import Warned


def test_a_renderer_ignores_events_it_has_no_method_for(capsys):
    Renderer()(Event())
    PlainRestoreRenderer()(Warned("not a restore event"))
    assert capsys.readouterr().err == ""


def test_the_restore_lines(capsys):
    show = PlainRestoreRenderer(verbose=True, prefix="[rank 1] ")
    show(Planned(2, 1, 0))
    show(ImageStarted("in/a.png", 40, 30, 1))
    show(FileFinished(FileResult("in/a.png", "out/a.png", "done", width=1000, height=1000, model_s=1.5)))
    show(FileFinished(FileResult("in/b\n.png", None, "failed", "not an image")))
    show(Waiting(3))
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "[rank 1] 2 to restore, 1 skipped, 0 failed before starting",
        "[rank 1] start   in/a.png (40x30, 1 tile)",
        "[rank 1] done    in/a.png -> out/a.png (1.0 MP, 1.5 s)",
        "[rank 1] failed  'in/b\\n.png': not an image",
        "[rank 1] waiting for 3 file(s) another uir run is working on (each is done by it, or here if that run stops)",
    ]


def test_the_trainer_warnings_and_durations(capsys):
    with TrainRenderer(10, live=False) as show:
        show(Warned("an [odd] name"))
    assert capsys.readouterr().err == "warning: an [odd] name\n"
    assert (duration(59), duration(61), duration(3725)) == ("0:59", "1:01", "1:02:05")
