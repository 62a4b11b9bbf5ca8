"""Which recipe trains which family: the GAN its two-player recipe, every likelihood family the generic one."""

from .recipe_gan import GANRecipe
from .recipe_likelihood import LikelihoodRecipe

RECIPES = {"gan": GANRecipe, "vae": LikelihoodRecipe, "mle": LikelihoodRecipe}


def make_recipe(cfg, summary: dict, rng, info):
    return RECIPES[cfg.family](cfg, summary, rng, info)
