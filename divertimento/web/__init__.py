"""The web studio: a FastAPI app over ``divertimento.studio`` and a static single page served by it."""
