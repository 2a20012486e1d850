"""infobounds: information-theoretic representation learning, with the bounds derived in the book.

The package is organised as the book uses it:

* :mod:`infobounds.profiles` -- the ``quick``/``full`` profile, device, autocast and seeding;
* :mod:`infobounds.data` -- one ``load(name, split)`` entry for every data set;
* :mod:`infobounds.nets` -- the building blocks every model uses;
* :mod:`infobounds.models` -- one module per method, each with its config and named loss terms;
* :mod:`infobounds.training` -- the one training loop, checkpoints and resume;
* :mod:`infobounds.bounds` -- closed forms and mutual-information estimators;
* :mod:`infobounds.metrics`, :mod:`infobounds.plotting`, :mod:`infobounds.results`.

Importing the package has no side effects.
"""

__version__ = "0.1.0"

from infobounds.profiles import Profile, get_profile, seed_everything  # noqa: E402

__all__ = ["Profile", "get_profile", "seed_everything", "__version__"]
