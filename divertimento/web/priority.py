"""Live stream bars before heavy work: the model's layers call the studio queue's ``checkpoint`` before each
forward, so a heavy job (a thread holding a slot) stops between two model steps while a stream bar is drawn in the
queue's ``ahead`` lane (``studio/work_queue.py``). The same hooks stop a job between two model steps once its
deadline has passed or its client has gone (``checkpoint`` raises). They cost a function call per layer per step
when no bar is being drawn; in any other thread, the bar's own included, they pass at once unless its stream ended."""

from ..studio.service import Studio

MARK = "_divertimento_checkpoints"  # set on a model once its layers carry the hooks (two apps may share a studio)


def let_stream_bars_go_first(studio: Studio) -> int:
    """Hook every leaf layer of the studio's model (the sequence model and a guided model's critic); returns how
    many layers carry the hook. The hook reads ``studio.queue`` when it runs, so a queue swapped later is used."""
    model = studio.engine.sampler.module
    if getattr(model, MARK, False):
        return 0

    def checkpoint(module, args):
        studio.queue.checkpoint()

    leaves = [m for m in model.modules() if not any(True for _ in m.children())]
    for m in leaves:
        m.register_forward_pre_hook(checkpoint)
    setattr(model, MARK, True)
    return len(leaves)
