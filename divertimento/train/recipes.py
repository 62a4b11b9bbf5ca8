"""Which recipe trains which family: the GAN its two-player recipe, every likelihood family the generic one, a
guided sampler its critic.

A recipe has: ``trained`` (modules the optimisers update, by name) and ``init_sources`` (the checkpoint prefix each
is initialised from by init_from), ``start()`` (after init and broadcast), ``modules()`` / ``optimizers()``
(everything a checkpoint holds), ``model_modules()`` (what the model file holds; ``model`` is sampled),
``sampled_optimizer`` (the one the learning-rate schedule drives), ``step(step, batches, stats)``,
``windows_per_step``, ``extra_header`` (what the model file must remember beyond config and data) and
``finish(data)`` (after the last step: held-out figures, and any fitting the model file needs)."""

from ..errors import UserError
from .recipe_adversarial import AdversarialRecipe
from .recipe_distill import DistillRecipe
from .recipe_gan import GANRecipe
from .recipe_guided import GuidedRecipe
from .recipe_likelihood import LikelihoodRecipe

RECIPES = {"gan": GANRecipe, "vae": LikelihoodRecipe, "mle": LikelihoodRecipe, "guided": GuidedRecipe}


def make_recipe(cfg, summary: dict, rng, info):
    if cfg.family == "mle" and cfg.adv_weight > 0:  # the sequence model, fine-tuned adversarially
        return AdversarialRecipe(cfg, summary, rng, info)
    if cfg.r1_gamma > 0 and cfg.family in ("mle", "vae"):
        # checked here, not in the config, so that old model files that carry the setting still load
        raise UserError(f"r1_gamma (got {cfg.r1_gamma}) penalises a critic; a {cfg.family} run without adv_weight has "
                        "none (it serves gan, guided and adversarial fine-tunes): leave it at 0")
    if cfg.family == "mle" and cfg.distill_from:  # the sequence model, taught a critic-tilted pool of its samples
        return DistillRecipe(cfg, summary, rng, info)
    return RECIPES[cfg.family](cfg, summary, rng, info)
